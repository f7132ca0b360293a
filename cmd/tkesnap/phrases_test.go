package main

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"tkesnap/analysis/finding"
)

// Every phrase the analysis says outside findings (the checks' and the
// tracer's reasons, registered by every package the binary links) has a
// Chinese text with the same arguments, so a zh report never falls back
// to English and never drops or misplaces an argument.
func TestEveryPhraseHasAChineseTextWithTheSameArguments(t *testing.T) {
	verb := regexp.MustCompile(`%\[\d+\][a-z]`)
	args := func(s string) string {
		vs := verb.FindAllString(s, -1)
		sort.Strings(vs)
		return strings.Join(dedup(vs), " ")
	}
	en, zh := finding.Phrases(finding.EN), finding.Phrases(finding.ZH)
	if len(en) < 50 {
		t.Fatalf("only %d English phrases: the catalog is not linked", len(en))
	}
	for k, e := range en {
		z, ok := zh[k]
		if !ok {
			t.Errorf("phrase %s has no Chinese text", k)
			continue
		}
		if args(e) != args(z) {
			t.Errorf("phrase %s: English uses %q, Chinese %q", k, args(e), args(z))
		}
		if strings.Count(e, "%")-strings.Count(e, "%%")*2 != len(verb.FindAllString(e, -1)) {
			t.Errorf("phrase %s: a verb without an explicit index in %q", k, e)
		}
	}
	for k := range zh {
		if _, ok := en[k]; !ok {
			t.Errorf("Chinese phrase %s has no English text", k)
		}
	}
}

func dedup(s []string) []string {
	var out []string
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}
