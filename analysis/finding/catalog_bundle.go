package finding

// Bundle findings: what the collector could not gather. A bundle whose
// kubectl or tccli calls failed must not read as "no problem found".
func init() {
	Register(Entry{ID: "COLLECTION_FAILED", Severity: Warning, Group: "bundle", Guide: "收集: 命令失败",
		Texts: map[Lang]Text{
			EN: {
				Title:   "A collection command failed",
				Message: `{{if .node}}On node {{.node}}, {{end}}` + "`{{.command}}`" + ` exited {{.exit}} while collecting {{.path}}{{if .stderr}}: {{.stderr}}{{end}}; checks that need it are inconclusive.`,
				Remedy:  `Fix the cause (credentials, kubeconfig, permissions, missing tool) and run the collector again{{if .node}} on {{.node}}{{end}}.`,
			},
			ZH: {
				Title:   "收集命令执行失败",
				Message: `{{if .node}}节点 {{.node}} 上，{{end}}收集 {{.path}} 时命令 ` + "`{{.command}}`" + ` 退出码为 {{.exit}}{{if .stderr}}：{{.stderr}}{{end}}；依赖该文件的检查无法得出结论。`,
				Remedy:  `排除原因（凭证、kubeconfig、权限、缺少工具）后{{if .node}}在节点 {{.node}} 上{{end}}重新运行收集脚本。`,
			},
		}})
}
