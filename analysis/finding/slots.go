package finding

import "regexp"

// emptySlot matches what a template leaves where an argument rendered
// empty: "explains  (DELIVERED, )", "on node ,", "（）", "：。". Text
// a catalog writes on purpose never has these shapes.
var emptySlot = regexp.MustCompile(`\(\s*[,)]|,\s*\)|[^\s] {2,}[^\s]|\s[,;:)]|\s\.(\s|$)|（\s*[，）]|，\s*[）。，]|：\s*[。，）]|[（：，]\s*$`)

// EmptySlots returns the places in s where an argument rendered empty.
func EmptySlots(s string) []string { return emptySlot.FindAllString(s, -1) }
