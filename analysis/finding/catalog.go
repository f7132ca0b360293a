package finding

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
)

// Lang is a report language: "en" (default) or "zh".
type Lang string

const (
	EN Lang = "en"
	ZH Lang = "zh"
)

// Text is the human part of a catalog entry in one language. Message and
// Remedy are text/template sources rendered with the finding's Args.
type Text struct {
	Title   string
	Message string
	Remedy  string
}

// Entry is one stable finding ID. IDs are never reused for another meaning.
type Entry struct {
	ID       string
	Severity Severity
	// Group is the catalog section: cloud, kube, node, capture (or a new one).
	Group string
	// Guide names the section of the TKE guide "网络无法访问" (or the support
	// practice) the check comes from.
	Guide string
	// Hygiene marks configuration hygiene: a fault that matters only when
	// a flow uses what it concerns (a CIDR missing from NonMasqueradeCIDRs,
	// a second iptables backend). The report drops such a finding to info
	// when it touches no reported flow and no failing hop (see Judge in
	// analysis/report and docs/findings.md).
	Hygiene bool
	Texts   map[Lang]Text
}

var (
	mu      sync.RWMutex
	entries = map[string]*Entry{}
	tmpls   = map[string]*template.Template{}
)

// Register adds an ID to the catalog with its English text. Registering
// the same ID twice is a programming error.
func Register(e Entry) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := entries[e.ID]; dup {
		panic("finding: duplicate catalog ID " + e.ID)
	}
	if e.Texts == nil {
		e.Texts = map[Lang]Text{}
	}
	cp := e
	entries[e.ID] = &cp
}

// Translate adds or replaces the text of an ID in one language.
func Translate(lang Lang, id string, t Text) {
	mu.Lock()
	defer mu.Unlock()
	e, ok := entries[id]
	if !ok {
		panic("finding: translation for unknown ID " + id)
	}
	e.Texts[lang] = t
}

// Lookup returns the catalog entry of an ID.
func Lookup(id string) (Entry, bool) {
	mu.RLock()
	defer mu.RUnlock()
	e, ok := entries[id]
	if !ok {
		return Entry{}, false
	}
	return *e, true
}

// Catalog returns every entry, ordered by group then ID.
func Catalog() []Entry {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Entry, 0, len(entries))
	for _, e := range entries {
		out = append(out, *e)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Group != out[j].Group {
			return groupRank(out[i].Group) < groupRank(out[j].Group)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func groupRank(g string) string {
	switch g {
	case "cloud":
		return "0"
	case "kube":
		return "1"
	case "node":
		return "2"
	case "capture":
		return "3"
	}
	return "9" + g
}

// Render fills Title, Message and Remedy of f in lang, falling back to
// English for IDs without a translation.
func Render(f *Finding, lang Lang) error {
	e, ok := Lookup(f.ID)
	if !ok {
		f.Title = f.ID
		return fmt.Errorf("finding ID %s is not in the catalog", f.ID)
	}
	t, ok := e.Texts[lang]
	if !ok {
		lang = EN
		t = e.Texts[EN]
	}
	var err error
	f.Title = t.Title
	args := f.Args
	if len(f.Said) > 0 {
		args = Args{}
		for k, v := range f.Args {
			args[k] = v
		}
		for k, p := range f.Said {
			args[k] = p.In(lang)
		}
	}
	if f.Message, err = execute(string(lang)+"/"+f.ID+"/m", t.Message, args); err != nil {
		return err
	}
	f.Remedy, err = execute(string(lang)+"/"+f.ID+"/r", t.Remedy, args)
	return err
}

// execute renders a catalog template. Missing arguments render empty: a
// check that knows less still produces a readable sentence.
func execute(key, src string, args Args) (string, error) {
	mu.Lock()
	t, ok := tmpls[key]
	if !ok {
		var err error
		t, err = template.New(key).Option("missingkey=zero").Funcs(funcs).Parse(src)
		if err != nil {
			mu.Unlock()
			return src, fmt.Errorf("catalog template %s: %w", key, err)
		}
		tmpls[key] = t
	}
	mu.Unlock()
	var b bytes.Buffer
	if args == nil {
		args = Args{}
	}
	if err := t.Execute(&b, map[string]string(args)); err != nil {
		return src, fmt.Errorf("catalog template %s: %w", key, err)
	}
	return strings.TrimSpace(b.String()), nil
}

// funcs is shared by every template; text/template's own `or`, `and`,
// `eq` and `printf` already cover what messages need.
var funcs = template.FuncMap{
	"join": strings.Join,
}

// CheckTemplates parses every template of every language; used by tests.
func CheckTemplates() []error {
	var errs []error
	for _, e := range Catalog() {
		for lang, t := range e.Texts {
			for part, src := range map[string]string{"m": t.Message, "r": t.Remedy} {
				if _, err := template.New("x").Option("missingkey=zero").Funcs(funcs).Parse(src); err != nil {
					errs = append(errs, fmt.Errorf("%s %s %s: %w", e.ID, lang, part, err))
				}
			}
		}
	}
	return errs
}

// TemplateFields lists, sorted, the argument names (.name) a catalog
// template source refers to; translations and the finding reference use
// it to stay in step with the English templates.
func TemplateFields(src string) ([]string, error) {
	t, err := template.New("x").Option("missingkey=zero").Funcs(funcs).Parse(src)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.ActionNode:
			walk(n.Pipe)
		case *parse.PipeNode:
			if n != nil {
				for _, c := range n.Cmds {
					walk(c)
				}
			}
		case *parse.CommandNode:
			for _, a := range n.Args {
				walk(a)
			}
		case *parse.FieldNode:
			seen[n.Ident[0]] = true
		case *parse.IfNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		}
	}
	if t.Tree != nil {
		walk(t.Tree.Root)
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out, nil
}
