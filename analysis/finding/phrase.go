package finding

import "fmt"

// Phrase is a sentence the analysis says in its own words outside a
// finding (why something is inconclusive, what a hop depends on): a key of
// the phrase catalog (phrases.go) and its arguments, which are data
// (addresses, object names, file names, commands). It is worded when a
// report is rendered, in the report's language; the English wording is
// what Why and Detail fields hold for tools that read the JSON.
type Phrase struct {
	Key  string
	Args []any
}

// Localizer is an argument that words itself per language: a nested
// phrase, a trace step's detail, a security group decision.
type Localizer interface {
	In(lang Lang) string
}

// Say builds a phrase. A key missing from the catalog is a bug the
// catalog test catches (every key used in the code has an English text).
func Say(key string, args ...any) Phrase { return Phrase{Key: key, Args: args} }

// Literal is text that is the same in every language: what a tool
// printed (an error message, a command's stderr).
func Literal(s string) Phrase { return Phrase{Args: []any{s}} }

// In words p in lang, English for a key lang lacks.
func (p Phrase) In(lang Lang) string {
	if p.Key == "" {
		if len(p.Args) == 0 {
			return ""
		}
		return fmt.Sprint(localized(p.Args[0], lang))
	}
	f, ok := phrases[lang][p.Key]
	if !ok {
		f, ok = phrases[EN][p.Key]
	}
	if !ok {
		return "<no phrase " + p.Key + ">"
	}
	args := make([]any, len(p.Args))
	for i, a := range p.Args {
		args[i] = localized(a, lang)
	}
	return fmt.Sprintf(f, args...)
}

// List joins phrases into one, separated as the language separates
// clauses (English "; ", Chinese "；").
func List(ps []Phrase) Phrase {
	if len(ps) == 0 {
		return Phrase{}
	}
	out := ps[0]
	for _, p := range ps[1:] {
		out = Say("list.semi", out, p)
	}
	return out
}

// String is the English wording.
func (p Phrase) String() string { return p.In(EN) }

func localized(a any, lang Lang) any {
	if l, ok := a.(Localizer); ok {
		return l.In(lang)
	}
	return a
}

// Phrases returns the phrase formats of lang (for the catalog tests).
func Phrases(lang Lang) map[string]string { return phrases[lang] }

// RegisterPhrases adds phrase formats of lang; a package that words its
// own reasons (the tracer, the SG evaluator) registers them at init.
func RegisterPhrases(lang Lang, m map[string]string) {
	if phrases[lang] == nil {
		phrases[lang] = map[string]string{}
	}
	for k, v := range m {
		if _, dup := phrases[lang][k]; dup {
			panic("finding: phrase " + k + " registered twice")
		}
		phrases[lang][k] = v
	}
}
