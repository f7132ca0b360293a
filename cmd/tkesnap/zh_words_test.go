package main

import (
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode"
)

// A Chinese report is Chinese except for what a reader copies rather than
// reads: identifiers, addresses, file names, commands and quoted evidence.
// Every lab bundle is rendered in zh as text, Markdown (every hop) and
// HTML; each word left over is classified by what kind of token it is, and
// a token that is none of the identifier classes below is an English word
// the report failed to translate.

// zhKnownNames are the identifiers that look like plain words: product,
// tool and protocol names, Kubernetes kinds and iptables tables (nat 表), written as their owners
// write them (a Chinese TKE document writes them the same way). "Master"
// is TKE's name for a cluster's control-plane nodes (托管 Master, 独立部署
// Master in the console; InstanceRole MASTER in the API).
var zhKnownNames = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`
		kubernetes pod pods service services node endpoints endpointslice ingress
		networkpolicy namespace deployment daemonset statefulset configmap secret
		kubelet kubectl kube-proxy iptables ip6tables nftables nft ipvs ipvsadm
		conntrack tcpdump tshark wireshark zeek tccli tkesnap crictl docker containerd
		sysctl coredns tcp udp icmp sctp http https dns ip arp ethtool ss
		chromium linux netfilter nat filter mangle raw
		master
	`) {
		zhKnownNames[w] = true
	}
}

// zhVerdictCodes are upper-case words with a Chinese name in the report:
// written bare in prose they are untranslated, not identifiers.
var zhVerdictCodes = map[string]bool{
	"DELIVERED": true, "DROPPED": true, "REJECTED": true, "AMBIGUOUS": true, "UNDETERMINED": true,
}

// englishWord reports whether tok (a run of non-space, non-CJK
// characters, punctuation trimmed) is an English word rather than an
// identifier.
func englishWord(tok string) bool {
	letters := 0
	upperInside := false
	allUpper := true
	for i, r := range tok {
		switch {
		case r >= 'a' && r <= 'z':
			letters++
			allUpper = false
		case r >= 'A' && r <= 'Z':
			letters++
			if i > 0 {
				upperInside = true // camelCase / PascalCase: an API field or kind
			}
		case r >= '0' && r <= '9', strings.ContainsRune("./_:=@#-*$<>{}[]%+~\\&^|", r):
			return false // numbers, addresses, paths, names, flags, rule text
		case r > unicode.MaxASCII:
			return false // a symbol (→, ✗): not a word
		}
	}
	switch {
	case letters < 2:
		return false // a variable letter or unit
	case allUpper:
		return zhVerdictCodes[tok] // acronyms, iptables targets, IDs
	case upperInside:
		return false
	}
	return !zhKnownNames[strings.ToLower(tok)]
}

var (
	mdCode   = regexp.MustCompile("`[^`\n]*`")
	htmlDrop = regexp.MustCompile(`(?s)<script.*?</script>|<style.*?</style>|<code>.*?</code>|<pre>.*?</pre>|<title>.*?</title>`)
	htmlTag  = regexp.MustCompile(`(?s)<[^>]*>`)
	// a Chinese quotation may run over the text report's wrapped lines
	quoted     = regexp.MustCompile(`"[^"\n]*"|“[^”]*”|「[^」]*」`)
	codeInHTML = regexp.MustCompile(`(?s)<code>(.*?)</code>|<pre>(.*?)</pre>`)
)

// words splits prose into tokens: runs of ASCII between spaces, CJK
// text and punctuation, trailing full stops and colons trimmed.
func words(prose string) []string {
	var out []string
	for _, tok := range strings.FieldsFunc(prose, func(r rune) bool {
		return unicode.IsSpace(r) || r > unicode.MaxASCII && !strings.ContainsRune("→✗", r) ||
			strings.ContainsRune(`(),;!?"'|`, r)
	}) {
		if tok = strings.TrimRight(tok, ".:"); tok != "" {
			out = append(out, tok)
		}
	}
	return out
}

// zhKnownPhrases are names of two words: a Chinese TKE document writes
// "API Server" as the component's name. The text report may wrap the
// two over lines.
var zhKnownPhrases = regexp.MustCompile(`API\s+Server`)

// proseWords returns the English words of the prose left once
// quotations are taken out.
func proseWords(prose string) []string {
	var out []string
	for _, tok := range words(quoted.ReplaceAllString(prose, " ")) {
		if englishWord(tok) {
			out = append(out, tok)
		}
	}
	return out
}

// bundleNames are the words of the names in the bundle's JSON report:
// its nodes, the objects findings name (svc/default/web: svc, default,
// web) and the ends of the traced flows ("internet" is a flow end the
// user writes). Branch ends and finding arguments are the tool's own
// words and do not count.
func bundleNames(t *testing.T, bundle string) map[string]bool {
	t.Helper()
	var rep struct {
		Bundle struct {
			Nodes []string `json:"nodes"`
		} `json:"bundle"`
		Findings []struct {
			Objects []string `json:"objects"`
		} `json:"findings"`
		Traces []struct {
			From string `json:"from"`
			To   string `json:"to"`
		} `json:"traces"`
	}
	if err := json.Unmarshal(analyzeTo(t, bundle, "--format", "json"), &rep); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	add := func(s string, sep string) {
		for _, w := range strings.Split(s, sep) {
			names[w] = true
		}
	}
	for _, n := range rep.Bundle.Nodes {
		names[n] = true
	}
	for _, f := range rep.Findings {
		for _, o := range f.Objects {
			add(o, "/")
		}
	}
	for _, tr := range rep.Traces {
		names[tr.From], names[tr.To] = true, true
	}
	return names
}

func TestZhReportsHaveNoEnglishWords(t *testing.T) {
	t.Chdir("../..")
	bundles := labBundles(t)
	total := map[string]int{}
	where := map[string]string{}
	for _, b := range bundles {
		md := string(analyzeTo(t, b, "--format", "markdown", "--full", "--lang", "zh"))
		page := string(analyzeTo(t, b, "--format", "html", "--lang", "zh"))
		text := string(analyzeTo(t, b, "--no-color", "--lang", "zh"))

		// the names the bundle gives (nodes, objects, the reported flows'
		// ends) are identifiers wherever they appear; a node may well be
		// called "unreachable"
		names := bundleNames(t, b)
		// the text report has no markup: what the other two renderers of
		// the same report mark as code is code in it too
		code := map[string]bool{}
		for _, s := range mdCode.FindAllString(md, -1) {
			for _, w := range words(strings.Trim(s, "`")) {
				code[w] = true
			}
		}
		for _, m := range codeInHTML.FindAllStringSubmatch(page, -1) {
			for _, w := range words(html.UnescapeString(m[1] + m[2])) {
				code[w] = true
			}
		}
		md, page, text = zhKnownPhrases.ReplaceAllString(md, "API_Server"), zhKnownPhrases.ReplaceAllString(page, "API_Server"),
			zhKnownPhrases.ReplaceAllString(text, "API_Server")
		prose := map[string]string{
			"markdown": quoted.ReplaceAllString(mdCode.ReplaceAllString(md, " "), " "),
			"html":     quoted.ReplaceAllString(html.UnescapeString(htmlTag.ReplaceAllString(htmlDrop.ReplaceAllString(page, " "), " ")), " "),
			"text":     quoted.ReplaceAllString(text, " "),
		}
		for _, format := range []string{"text", "markdown", "html"} {
			for _, line := range strings.Split(prose[format], "\n") {
				for _, w := range proseWords(line) {
					if names[w] || format == "text" && code[w] {
						continue
					}
					total[w]++
					if where[w] == "" {
						where[w] = fmt.Sprintf("%s (%s): %.160s", b, format, strings.TrimSpace(line))
					}
				}
			}
		}
	}
	var list []string
	for w := range total {
		list = append(list, w)
	}
	sort.Slice(list, func(i, j int) bool {
		return total[list[i]] > total[list[j]] || total[list[i]] == total[list[j]] && list[i] < list[j]
	})
	var lines []string
	for _, w := range list {
		lines = append(lines, fmt.Sprintf("  %-20s ×%-4d first in %s", w, total[w], where[w]))
	}
	t.Logf("%d bundles rendered in zh (text, Markdown, HTML): %d English words outside the identifier classes", len(bundles), len(list))
	if len(list) > 0 {
		t.Errorf("English words in zh reports:\n%s", strings.Join(lines, "\n"))
	}
}
