package finding

import (
	"strings"
	"testing"
)

func TestEmptySlotsSpotsMissingArguments(t *testing.T) {
	for _, s := range []string{"explains  (DELIVERED, )", "On node , x is dropped", "by / rule  (line ): .", "节点 （）", "原因：。"} {
		if len(EmptySlots(s)) == 0 {
			t.Errorf("EmptySlots(%q) found nothing", s)
		}
	}
	for _, s := range []string{"Add an inbound ACCEPT policy ALL from 172.16.0.0/16 to sg-1, placed before PolicyIndex 5.",
		"sg-1 ingress PolicyIndex 5 (DROP ALL from 0.0.0.0/0).", "在安全组 sg-1 中添加入站规则（ALL），并排在 PolicyIndex 5 之前。"} {
		if got := EmptySlots(s); len(got) > 0 {
			t.Errorf("EmptySlots(%q) = %q on a complete sentence", s, got)
		}
	}
}

// Every catalog ID rendered with every argument it names, in both
// languages: the template itself leaves no empty slot and has a text in
// each language.
func TestEveryCatalogIDRendersWithoutEmptySlots(t *testing.T) {
	for _, e := range Catalog() {
		if strings.HasPrefix(e.Group, "test") {
			continue
		}
		args := Args{}
		for _, tx := range e.Texts {
			for _, src := range []string{tx.Message, tx.Remedy} {
				fields, err := TemplateFields(src)
				if err != nil {
					t.Fatalf("%s: %v", e.ID, err)
				}
				for _, f := range fields {
					args[f] = "v-" + f
				}
			}
		}
		for _, lang := range []Lang{EN, ZH} {
			if _, ok := e.Texts[lang]; !ok {
				t.Errorf("%s has no %s text", e.ID, lang)
				continue
			}
			f := New(e.ID, args, nil)
			if err := Render(&f, lang); err != nil {
				t.Errorf("%s %s: %v", e.ID, lang, err)
				continue
			}
			for part, s := range map[string]string{"title": f.Title, "message": f.Message, "remedy": f.Remedy} {
				if strings.TrimSpace(s) == "" {
					t.Errorf("%s %s: empty %s", e.ID, lang, part)
				}
				if slots := EmptySlots(s); len(slots) > 0 {
					t.Errorf("%s %s %s has empty slots %q: %s", e.ID, lang, part, slots, s)
				}
			}
		}
	}
}
