package report

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"text/template"

	"tkesnap/analysis/finding"
	"tkesnap/analysis/trace"
)

// words are the report's own texts in one language. Finding texts live in
// the finding catalog; these are headings, column names and the templates
// of the summary and of inconclusive items.
type words struct {
	Title, Summary, Findings, Traces, Inconclusive, Problems string
	Bundle, Format, Nodes, None                              string
	// Colon follows a label ("Fix: ", "处理建议："); Comma separates items.
	Colon, Comma                                          string
	Severity, ID, FindingTitle, Objects, Evidence, Fix    string
	Message, Branch, Symptom, Reported, Agrees, Disagrees string
	// trace table columns
	Step, Where, Component, Detail, BeforeAfter, Decision string
	// section names per severity, worst first
	Sev map[finding.Severity]string
	// SevName names one finding's severity (table cells).
	SevName map[finding.Severity]string
	// SevCount is a template over {N int}: "2 errors".
	SevCount map[finding.Severity]string
	Verdicts map[trace.Verdict]string
	// Tags name a verdict in a heading or a table cell; without one the
	// verdict's code (DROPPED) is the tag.
	Tags map[trace.Verdict]string
	// Decisions translate a hop's decision word (seen, FORK, delivered);
	// iptables and SG actions (ACCEPT, DROP, REJECT), DNS and HTTP codes
	// and finding IDs are identifiers and print as they are.
	Decisions map[string]string
	// Components translates trace step components; unknown ones print as is.
	Components map[string]string
	// Places translate the places a hop names by a word of the tracer's
	// own (vpc, sg, client) where prose or the diagram names them; node
	// names and cloud IDs print as they are.
	Places map[string]string
	// AlsoDelivered heads the one-line list of quiet flows.
	AlsoDelivered string
	// OtherFlows heads the one-line list of the ticket view: quiet flows
	// and the flows tkesnap traced on its own. HopsOf ({Hops}) stands for
	// a failing one's hop table, HopsCommand says how to see it, and
	// MoreEvidence ({N}) counts the evidence the ticket view leaves out.
	OtherFlows, HopsOf, HopsCommand, MoreEvidence, MoreItems string
	// HopsCut stands for the hops a ticket view's hop table leaves out.
	HopsCut string
	// Implicit leads the ticket view's count of the flows tkesnap added;
	// Aside names the findings the ticket view lists in the table only.
	Implicit, Aside string
	// LikeBranch ({Hops, Like}) stands for a branch that fails like branch Like.
	LikeBranch string
	// Quiet summarizes a delivered branch in one line ({Hops, Paths int}).
	Quiet string
	// Collect is the template of one inconclusive item (fields Need, Node, Why).
	Collect string
	// NeedOn names a file to collect ({Need, Node}) in a sentence.
	NeedOn string
	// Explains labels the reported flows a finding explains; Merged is a
	// template over {N int} (reports folded into one finding); BaseSev
	// over {Base string} (the catalog severity a judged finding had).
	Explains, Merged, BaseSev string
	// Command labels a fix's command; Retrace is a template over
	// finding.Retrace plus Delivered (one re-traced flow of a fix).
	// Unverified is a template over the reason a fix was not re-traced.
	Command, Retrace, Unverified string
	// RetraceImplicit counts the re-traces of flows tkesnap traced on
	// its own, in the ticket view (each one is in --full, HTML, JSON).
	RetraceImplicit string
	// SummaryText is the template of the summary paragraph (summaryData).
	SummaryText string
	// Diagram labels (HTML).
	Failed, ExpandAll, CollapseAll, Generated string
}

var labels = map[finding.Lang]*words{
	finding.EN: {
		Title: "tkesnap report", Summary: "Summary", Findings: "Findings", Traces: "Traces",
		Inconclusive: "Inconclusive", Problems: "Bundle problems",
		Bundle: "Bundle", Format: "format", Nodes: "nodes", None: "none", Colon: ": ", Comma: ", ",
		Severity: "Severity", ID: "ID", FindingTitle: "Title", Objects: "Objects", Evidence: "Evidence", Fix: "Fix",
		Message: "Message", Branch: "branch", Symptom: "symptom", Reported: "reported", Agrees: "agrees", Disagrees: "does not agree",
		Step: "#", Where: "Where", Component: "Component", Detail: "Detail", BeforeAfter: "Before → After", Decision: "Decision",
		Sev:     map[finding.Severity]string{finding.Error: "Errors", finding.Warning: "Warnings", finding.Info: "Info"},
		SevName: map[finding.Severity]string{finding.Error: "error", finding.Warning: "warning", finding.Info: "info"},
		SevCount: map[finding.Severity]string{
			finding.Error:   `{{.N}} error{{if ne .N 1}}s{{end}}`,
			finding.Warning: `{{.N}} warning{{if ne .N 1}}s{{end}}`,
			finding.Info:    `{{.N}} note{{if ne .N 1}}s{{end}}`,
		},
		Verdicts: map[trace.Verdict]string{
			trace.Delivered: "delivered", trace.Dropped: "dropped", trace.Rejected: "rejected",
			trace.NoRoute: "not routed", trace.Ambiguous: "ambiguous (depends on data the bundle lacks)", trace.Undetermined: "undetermined",
		},
		Components:      map[string]string{},
		AlsoDelivered:   "Also traced, and delivered",
		OtherFlows:      "Also traced by tkesnap",
		HopsOf:          `{{.Hops}} hop{{if ne .Hops 1}}s{{end}}, in the HTML and JSON reports`,
		HopsCommand:     "Every hop of one flow:",
		LikeBranch:      `{{.Hops}} hop{{if ne .Hops 1}}s{{end}}; fails as {{.Like}} does`,
		MoreEvidence:    `and {{.N}} more in the HTML and JSON reports`,
		MoreItems:       `and {{.N}} more in the HTML and JSON reports (or --full)`,
		HopsCut:         `{{.N}} more hop{{if ne .N 1}}s{{end}} (--full, HTML, JSON)`,
		Implicit:        `{{.N}} flow{{if ne .N 1}}s{{end}} tkesnap traced on its own:`,
		Aside:           `Findings {{.List}} are beside the reported flows (what a capture saw, hygiene): their details are in --full, HTML and JSON.`,
		Quiet:           `{{.Hops}} hop{{if ne .Hops 1}}s{{end}}{{if .Paths}}, {{.Paths}} paths{{end}}; every hop is in the HTML and JSON reports`,
		NeedOn:          "`{{.Need}}`{{if .Node}} (node {{.Node}}){{end}}",
		Collect:         `collect {{.Need}}{{if .Node}} on node {{.Node}}{{end}}{{if .Why}}: {{.Why}}{{end}}`,
		Explains:        "Explains reported flow",
		Merged:          `the same fault reported {{.N}} times (per node, source or evidence file), merged`,
		BaseSev:         `catalog severity {{.Base}}, judged in the context of the reported flows`,
		Command:         "Command",
		Unverified:      `Not re-traced: {{.}}.`,
		RetraceImplicit: `Re-traced with this change: {{.Delivered}} of {{.N}} flow{{if ne .N 1}}s{{end}} tkesnap traced on its own {{if eq .Delivered 1}}is{{else}}are{{end}} DELIVERED (each in --full, HTML, JSON).`,
		Retrace:         `{{if .Delivered}}Verified: with this change {{.Flow}} is DELIVERED.{{else}}Re-traced with this change: {{.Flow}} is {{if not .Undecided}}still {{end}}{{.Verdict}}{{if .Reason}} ({{.Reason}}{{if .At}} at {{.At}}{{end}}){{end}}.{{end}}`,
		SummaryText: `{{- if .Failing}}{{.Failing}} of {{.Reported}} reported flow{{if ne .Reported 1}}s{{end}} fail{{if eq .Failing 1}}s{{end}}: {{if gt .Failing 1}}the first: {{end}}
{{- else if .UndecidedN}}{{.UndecidedN}} of {{.Reported}} reported flow{{if ne .Reported 1}}s{{end}} cannot be decided: {{else if .Reported}}The {{.Reported}} reported flow{{if ne .Reported 1}}s get{{else}} gets{{end}} through. {{end}}
{{- if .Flow}}{{if .Undecided}}whether {{.Flow}} gets through cannot be decided{{if .At}} at {{.At}}{{if .Component}} ({{.Component}}){{end}}{{end}}{{if .Decides}}; it is decided by {{.Decides}}{{else}}: it depends on data the bundle lacks{{end}}{{else}}{{.Flow}} is {{.Verdict}}{{if .At}} at {{.At}}{{if .Component}} ({{.Component}}){{end}}{{end}}{{end}}{{if .Why}}: {{.Why}}{{end}}. {{end}}
{{- if .Title}}{{if and .Flow (not .Undecided)}}Cause{{else}}Main problem{{end}}: {{.Title}}{{if .Where}} ({{.Where}}){{end}}. {{.Message}} To fix it: {{.Remedy}}{{if .Verified}} {{.Verified}}{{end}}{{if .More}} {{.More}} more finding{{if ne .More 1}}s{{end}} below ({{.Counts}} in all).{{end}}
{{- else if not .Flow}}{{if .Problems}}No finding in what could be read{{else}}No problem found{{end}}{{if .Nodes}} on {{.Nodes}} node{{if ne .Nodes 1}}s{{end}}{{end}}.{{end}}
{{- if .OtherUndecided}} {{.OtherUndecided}} more reported flow{{if ne .OtherUndecided 1}}s{{end}} cannot be decided (see Traces).{{end}}
{{- if .ImplicitFailing}} Implicit checks the tool added (pod to pod between nodes, CLB clients, DNS): {{.ImplicitFailing}} of {{.Implicit}} do not get through; they are listed on their own and not counted above.{{end}}
{{- if .Inconclusive}} {{.Inconclusive}} check{{if ne .Inconclusive 1}}s{{end}} could not be decided: collect what is listed under Inconclusive.{{end}}
{{- if .Problems}} The bundle has {{.Problems}} problem{{if ne .Problems 1}}s{{end}} (unreadable or damaged files, listed at the end).{{end}}`,
		Failed: "fails here", ExpandAll: "Expand all evidence", CollapseAll: "Collapse all evidence", Generated: "Generated by tkesnap",
	},
	finding.ZH: {
		Title: "tkesnap 诊断报告", Summary: "结论", Findings: "发现的问题", Traces: "链路追踪",
		Inconclusive: "无法判定（需补充采集）", Problems: "采集包问题",
		Bundle: "采集包", Format: "格式", Nodes: "节点", None: "无", Colon: "：", Comma: "，",
		Severity: "级别", ID: "ID", FindingTitle: "问题", Objects: "相关对象", Evidence: "证据", Fix: "处理建议",
		Message: "说明", Branch: "分支", Symptom: "现象", Reported: "用户反馈", Agrees: "一致", Disagrees: "不一致",
		Step: "#", Where: "位置", Component: "组件", Detail: "详情", BeforeAfter: "处理前 → 处理后", Decision: "判定",
		Sev:     map[finding.Severity]string{finding.Error: "错误", finding.Warning: "警告", finding.Info: "提示"},
		SevName: map[finding.Severity]string{finding.Error: "错误", finding.Warning: "警告", finding.Info: "提示"},
		SevCount: map[finding.Severity]string{
			finding.Error:   `{{.N}} 个错误`,
			finding.Warning: `{{.N}} 个警告`,
			finding.Info:    `{{.N}} 条提示`,
		},
		Verdicts: map[trace.Verdict]string{
			trace.Delivered: "可以送达", trace.Dropped: "被丢弃", trace.Rejected: "被拒绝",
			trace.NoRoute: "没有路由", trace.Ambiguous: "无法确定（取决于采集包中没有的数据）", trace.Undetermined: "无法判定",
		},
		Decisions: map[string]string{
			"delivered": "送达", "FORK": "分流", "seen": "抓到", "not seen": "未抓到", "out of service": "已摘除",
			"listener": "监听器", "leaves the cluster": "离开集群", "forward": "转发", "contradiction": "与抓包矛盾",
			"both backends": "两套后端", "answer": "应答", "allowed": "放行", "UNKNOWN": "未知", "UNDETERMINED": "无法判定",
			"AMBIGUOUS": "不确定", "STALE": "规则过期", "NO ROUTE": "无路由", "NO ADDRESS": "无地址", "UNREACHABLE": "不可达",
			"enter": "进入", "internet": "公网", "local": "本机", "route": "路由", "rule": "规则",
			"dev": "出接口", "nameserver": "DNS 服务器",
		},
		Tags: map[trace.Verdict]string{
			trace.Delivered: "可达", trace.Dropped: "丢弃", trace.Rejected: "拒绝",
			trace.NoRoute: "无路由", trace.Ambiguous: "不确定", trace.Undetermined: "无法判定",
		},
		Places: map[string]string{"vpc": "VPC", "sg": "安全组", "client": "客户端", "internet": "公网", "clb": "CLB",
			"idc": "IDC", "ccn": "云联网", "flow": "链路", "dns": "DNS"},
		Components:      map[string]string{"security-group": "安全组", "route": "路由", "capture": "抓包", "kube": "Kubernetes", "clb": "CLB"},
		AlsoDelivered:   "其他已追踪且可达的链路",
		OtherFlows:      "tkesnap 另外追踪的链路",
		HopsOf:          `{{.Hops}} 跳，详情见 HTML 和 JSON 报告`,
		HopsCommand:     "查看某条链路的每一跳：",
		LikeBranch:      `{{.Hops}} 跳；失败原因同 {{.Like}}`,
		MoreEvidence:    `另有 {{.N}} 条证据，见 HTML 和 JSON 报告`,
		MoreItems:       `另有 {{.N}} 项，见 HTML 和 JSON 报告（或使用 --full）`,
		HopsCut:         `省略 {{.N}} 跳（见 --full、HTML、JSON）`,
		Implicit:        `工具自行追踪了 {{.N}} 条链路：`,
		Aside:           `第 {{.List}} 项与用户反馈的链路无直接关系（抓包所见、配置规范），详情见 --full、HTML 和 JSON 报告。`,
		Quiet:           `{{.Hops}} 跳{{if .Paths}}、{{.Paths}} 条路径{{end}}；逐跳详情见 HTML 和 JSON 报告`,
		NeedOn:          "`{{.Need}}`{{if .Node}}（节点 {{.Node}}）{{end}}",
		Collect:         `请采集 {{.Need}}{{if .Node}}（节点 {{.Node}}）{{end}}{{if .Why}}：{{.Why}}{{end}}`,
		Explains:        "解释的反馈链路",
		Merged:          `同一问题共报告 {{.N}} 次（按节点、来源或证据文件），已合并`,
		BaseSev:         `目录级别为{{.Base}}，已按反馈链路的上下文调整`,
		Command:         "命令",
		Unverified:      `未重新追踪：{{.}}。`,
		RetraceImplicit: `改后重新追踪工具自行追踪的 {{.N}} 条链路：{{.Delivered}} 条送达（见 --full）。`,
		Retrace:         `{{if .Delivered}}已验证：应用此修改后 {{.Flow}} 可以送达。{{else}}应用此修改后重新追踪：{{.Flow}} 的结果{{if .Undecided}}为{{else}}仍为{{end}}{{.Tag}}{{if .Reason}}（{{.Reason}}{{if .At}}，位置 {{.At}}{{end}}）{{end}}。{{end}}`,
		SummaryText: `{{- if .Failing}}用户反馈的 {{.Reported}} 条链路中有 {{.Failing}} 条不通{{if gt .Failing 1}}，第一条{{end}}：
{{- else if .UndecidedN}}用户反馈的 {{.Reported}} 条链路中有 {{.UndecidedN}} 条无法判定：{{else if .Reported}}用户反馈的 {{.Reported}} 条链路均可达。{{end}}
{{- if .Flow}}{{if .Undecided}}无法判定 {{.Flow}} 是否可达{{if .At}}（位置 {{.At}}{{if .Component}}，{{.Component}}{{end}}）{{end}}{{if .Decides}}，取决于 {{.Decides}}{{else}}：取决于采集包中没有的数据{{end}}{{else}}{{.Flow}} {{.Verdict}}{{if .At}}，位置 {{.At}}{{if .Component}}（{{.Component}}）{{end}}{{end}}{{end}}{{if .Why}}：{{.Why}}{{end}}。{{end}}
{{- if .Title}}{{if and .Flow (not .Undecided)}}原因{{else}}主要问题{{end}}：{{.Title}}{{if .Where}}（{{.Where}}）{{end}}。{{.Message}}处理建议：{{.Remedy}}{{if .Verified}}{{.Verified}}{{end}}{{if .More}}下文还有 {{.More}} 项发现（共 {{.Counts}}）。{{end}}
{{- else if not .Flow}}{{if .Nodes}}在 {{.Nodes}} 个节点上{{end}}{{if .Problems}}已读取的数据中未发现故障{{else}}未发现问题{{end}}。{{end}}
{{- if .OtherUndecided}}另有 {{.OtherUndecided}} 条用户反馈的链路无法判定（见链路追踪）。{{end}}
{{- if .ImplicitFailing}}工具自行补充的检查（跨节点 Pod 互访、CLB 客户端、DNS）中有 {{.ImplicitFailing}}/{{.Implicit}} 条不通，单独列出，不计入上述统计。{{end}}
{{- if .Inconclusive}}有 {{.Inconclusive}} 项检查因缺少数据无法判定，请按“无法判定”一节补充采集。{{end}}
{{- if .Problems}}采集包存在 {{.Problems}} 个问题（文件无法读取或已损坏，见文末）。{{end}}`,
		Failed: "在此失败", ExpandAll: "展开全部证据", CollapseAll: "收起全部证据", Generated: "由 tkesnap 生成",
	},
}

// wordsFor returns the texts of lang, English when lang is unknown.
func wordsFor(lang finding.Lang) *words {
	if w, ok := labels[lang]; ok {
		return w
	}
	return labels[finding.EN]
}

func (w *words) verdict(v trace.Verdict) string {
	if s, ok := w.Verdicts[v]; ok {
		return s
	}
	return string(v)
}

// decision is a hop's decision in the report's language.
func (w *words) decision(d string) string {
	if s, ok := w.Decisions[d]; ok {
		return s
	}
	// a decision naming where the packet goes: the word is translated,
	// the interface or address is not
	for _, pre := range []string{"dev ", "nameserver "} {
		if rest, ok := strings.CutPrefix(d, pre); ok {
			if s, ok := w.Decisions[strings.TrimSpace(pre)]; ok {
				return s + " " + rest
			}
		}
	}
	return d
}

// tag is the verdict as a heading shows it.
func (w *words) tag(v trace.Verdict) string {
	if s, ok := w.Tags[v]; ok {
		return s
	}
	return string(v)
}

// place is where a hop is, as prose names it.
func (w *words) place(at string) string {
	if s, ok := w.Places[at]; ok {
		return s
	}
	return at
}

func (w *words) component(c string) string {
	if s, ok := w.Components[c]; ok {
		return s
	}
	return c
}

var (
	tmplMu    sync.Mutex
	tmplCache = map[string]*template.Template{}
)

// execText renders one of the report's own templates. The templates are
// constants of this package, so a parse error is a bug caught by tests.
func execText(src string, data any) string {
	tmplMu.Lock()
	t, ok := tmplCache[src]
	if !ok {
		t = template.Must(template.New("").Option("missingkey=zero").Parse(src))
		tmplCache[src] = t
	}
	tmplMu.Unlock()
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return fmt.Sprintf("<%v>", err)
	}
	return strings.TrimSpace(b.String())
}

// collect renders one inconclusive item.
func (w *words) collect(in finding.Inconclusive) string { return execText(w.Collect, in) }

// counts renders "2 errors, 1 warning" (worst first, zero counts left out).
func (w *words) counts(fs []finding.Finding) string {
	n := map[finding.Severity]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	var parts []string
	for _, s := range []finding.Severity{finding.Error, finding.Warning, finding.Info} {
		if n[s] > 0 {
			parts = append(parts, execText(w.SevCount[s], struct{ N int }{n[s]}))
		}
	}
	sep := w.Comma
	if w == labels[finding.ZH] {
		sep = "、" // an enumeration of counts
	}
	return strings.Join(parts, sep)
}
