package main

import (
	"bytes"
	"strings"
	"testing"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/report"
)

func TestRenderDispatchesEveryFormat(t *testing.T) {
	r := &report.Report{Bundle: report.BundleInfo{Path: "b.tgz"}}
	r.Localize(finding.EN)
	for format, start := range map[string]string{
		"text": "tkesnap report — b.tgz", "markdown": "# tkesnap report", "md": "# tkesnap report",
		"json": "{\n  \"schema\": \"tkesnap-report/v1\"", "html": "<!DOCTYPE html>",
	} {
		var b bytes.Buffer
		if err := render(r, format, &b, view{}); err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		if !strings.HasPrefix(b.String(), start) {
			t.Errorf("%s starts with %.40q, want %q", format, b.String(), start)
		}
		if strings.Contains(b.String(), "\x1b[") {
			t.Errorf("%s: escape sequences without color", format)
		}
	}
	var b bytes.Buffer
	if err := render(r, "text", &b, view{Color: true}); err != nil || !strings.Contains(b.String(), "\x1b[1m") {
		t.Errorf("text with color has no escape sequences (%v)", err)
	}
}

func TestReportLanguageFromFlagOrLocale(t *testing.T) {
	for _, tc := range []struct {
		flag, lcAll, lang string
		want              finding.Lang
	}{
		{"", "", "zh_CN.UTF-8", finding.ZH},
		{"", "", "en_US.UTF-8", finding.EN},
		{"", "C", "zh_CN.UTF-8", finding.EN}, // LC_ALL wins over LANG
		{"en", "", "zh_CN.UTF-8", finding.EN},
		{"zh", "", "", finding.ZH},
		{"", "", "", finding.EN},
	} {
		t.Setenv("LC_ALL", tc.lcAll)
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANG", tc.lang)
		got, err := pickLang(tc.flag)
		if err != nil || got != tc.want {
			t.Errorf("--lang %q LC_ALL=%q LANG=%q: %v %v, want %v", tc.flag, tc.lcAll, tc.lang, got, err, tc.want)
		}
	}
	if _, err := pickLang("fr"); err == nil {
		t.Error("--lang fr accepted")
	}
}
