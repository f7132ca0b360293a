package finding

import (
	"strings"
	"testing"
)

func TestEveryFindingHasChineseTexts(t *testing.T) {
	for _, e := range Catalog() {
		zh, ok := e.Texts[ZH]
		if !ok {
			t.Errorf("%s: no Chinese text (add it to catalog_zh.go)", e.ID)
			continue
		}
		if zh.Title == "" || zh.Message == "" || zh.Remedy == "" {
			t.Errorf("%s: Chinese title, message and remedy are required", e.ID)
		}
		if zh == e.Texts[EN] {
			t.Errorf("%s: Chinese text is the English text", e.ID)
		}
		if !hasHan(zh.Title) {
			t.Errorf("%s: Chinese title %q has no Chinese", e.ID, zh.Title)
		}
	}
}

// A check passes the same Args whatever the reader's language, so a
// Chinese template may only use arguments the English one uses; an
// argument the English template gains later is reported too, so the
// translation is re-synced.
func TestChineseTemplatesUseTheEnglishArguments(t *testing.T) {
	for _, e := range Catalog() {
		en, zh := e.Texts[EN], e.Texts[ZH]
		if zh.Message == "" {
			continue
		}
		enArgs := fields(t, en.Message+" "+en.Remedy)
		zhArgs := fields(t, zh.Message+" "+zh.Remedy)
		for a := range zhArgs {
			if !enArgs[a] {
				t.Errorf("%s: Chinese template uses .%s, which the English template does not", e.ID, a)
			}
		}
		for a := range enArgs {
			if !zhArgs[a] {
				t.Errorf("%s: English template uses .%s, which the Chinese template leaves out (re-sync catalog_zh.go)", e.ID, a)
			}
		}
	}
}

func TestChineseMessagesRenderWithoutEnglishWords(t *testing.T) {
	args := Args{"node": "10.0.1.5", "sg": "sg-1", "cidr": "172.16.0.0/16", "decision": "x", "status": "504"}
	for _, e := range Catalog() {
		f := New(e.ID, args, nil)
		if err := Render(&f, ZH); err != nil {
			t.Errorf("%s: %v", e.ID, err)
			continue
		}
		if !hasHan(f.Message + f.Remedy) {
			t.Errorf("%s: %q / %q is not Chinese", e.ID, f.Message, f.Remedy)
		}
		for _, s := range []string{f.Message, f.Remedy} {
			for _, en := range []string{" does not ", " the ", " has no "} {
				if strings.Contains(s, en) {
					t.Errorf("%s: English left in %q", e.ID, s)
				}
			}
		}
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if r >= 0x4E00 && r <= 0x9FFF {
			return true
		}
	}
	return false
}

// fields lists the .name references of a template source.
func fields(t *testing.T, src string) map[string]bool {
	t.Helper()
	fs, err := TemplateFields(src)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range fs {
		out[f] = true
	}
	return out
}
