package collector

import (
	"encoding/json"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The redaction corpus: every format issue 16 item 9 names, each with the
// secrets it holds (all spelled LEAKnn so a survivor is easy to spot) and
// what must survive. Both collectors' redaction runs on each: 0 leaks,
// the same output, JSON/YAML still valid, no line dropped or added.
var redactCorpus = []struct {
	name, format string // format: json, yaml or text
	in           string
	keep         []string
}{
	{"URL userinfo", "yaml", "clusters:\n- cluster:\n    server: https://admin:LEAK01pass@10.0.1.5:6443\n  name: c\n",
		[]string{"https://admin:", "@10.0.1.5:6443"}},
	{"YAML block scalar token: |", "yaml", "data:\n  token: |\n    LEAK02line1\n    LEAK02line2\n  mode: ipvs\n",
		[]string{"mode: ipvs"}},
	{"YAML folded password: >-", "yaml", "auth:\n  password: >-\n    LEAK03folded\n    LEAK03more\n  user: admin\n",
		[]string{"user: admin"}},
	{"env name X_TOKEN + value: |", "yaml", "env:\n- name: X_TOKEN\n  value: |\n    LEAK04env\n- name: POD_IP\n  value: 172.16.0.7\n",
		[]string{"value: 172.16.0.7"}},
	{"flag value as next YAML list element", "yaml", "args:\n- --token\n- LEAK05next\n- --v=2\n",
		[]string{"--v=2", "--token"}},
	{"flag value as next JSON list element", "json", `{"args": ["--token", "LEAK06next", "--bind-address=0.0.0.0"]}` + "\n",
		[]string{"--bind-address=0.0.0.0"}},
	{"command line --token SECRET and --password=", "text", "/usr/bin/kube-proxy --token LEAK07space --password=LEAK07eq --master=https://169.254.128.5:60002\n",
		[]string{"--master=https://169.254.128.5:60002"}},
	{"key = value with spaces", "text", "[client]\npassword = LEAK08ini\nhost = 10.0.1.9\n",
		[]string{"host = 10.0.1.9"}},
	{"SecretKey= and access_token= in a query", "text", "SecretKey=LEAK09sk&Region=ap-guangzhou https://x/api?access_token=LEAK09q&page=2\n",
		[]string{"Region=ap-guangzhou", "page=2"}},
	{"DB_PASS= and MYSQL_PWD=", "text", "DB_HOST=10.0.2.3 DB_PASS=LEAK10a MYSQL_PWD=LEAK10b\n",
		[]string{"DB_HOST=10.0.2.3"}},
	{`"pass": in JSON`, "json", `{"user": "root", "pass": "LEAK11json", "port": 3306}` + "\n",
		[]string{`"user": "root"`, `"port": 3306`}},
	{"Authorization Basic and Bearer, X-Auth-Token", "text",
		"curl -H 'Authorization: Basic LEAK12basic==' -H \"X-Auth-Token: LEAK12xauth\" https://10.0.1.5\nAuthorization: Bearer LEAK12bearer\n",
		[]string{"https://10.0.1.5", "Authorization: Basic"}},
	{"JWT-shaped value under a harmless key", "json", `{"note": "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJMRUFLMTMifQ.LEAK13sig", "ip": "10.0.0.1"}` + "\n",
		[]string{`"ip": "10.0.0.1"`}},
	{"PEM block in a YAML block scalar", "yaml", "data:\n  tls.key: |\n    -----BEGIN RSA PRIVATE KEY-----\n    LEAK14pem\n    -----END RSA PRIVATE KEY-----\n  tls.crt: Q0VSVA==\n",
		[]string{"tls.crt: Q0VSVA=="}},
	{"PEM inside a one-line JSON string (CNI conflist)", "json", cniConflist,
		[]string{`"keyfile": "/etc/cni/net.d/tls.key"`, `"subnet": "172.16.0.0/26"`, `"type": "portmap"`}},
	{"PEM cut short inside a one-line JSON string (fuzz find)", "json",
		`{"tls": {"key": "-----BEGIN PRIVATE KEY-----LEAK52cut", "ca": "/etc/ca.pem"}, "port": 2379}` + "\n",
		[]string{`"ca": "/etc/ca.pem"`, `"port": 2379`}},
	{"annotation key with /", "yaml", "metadata:\n  annotations:\n    example.com/api-token: LEAK16anno\n    example.com/owner: team-a\n",
		[]string{"example.com/owner: team-a"}},
	{"env pairs inside last-applied-configuration", "yaml",
		"metadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"spec\":{\"containers\":[{\"env\":[{\"name\":\"DB_PASSWORD\",\"value\":\"LEAK17env\"},{\"name\":\"MODE\",\"value\":\"prod\"}]}]}}'\n",
		[]string{`{"name":"MODE","value":"prod"}`}},
	{"tccli JSON with SecretId/SecretKey", "json", `{"SecretId": "AKIDLEAK18abcdefghij", "SecretKey": "LEAK18key", "PrivateIpAddress": "10.0.1.5"}` + "\n",
		[]string{`"PrivateIpAddress": "10.0.1.5"`}},
	{"kubeconfig token and client-key-data", "yaml", "users:\n- name: admin\n  user:\n    token: LEAK19tok\n    client-key-data: LEAK19key\n    username: admin\n",
		[]string{"username: admin"}},
	// formats only a structural reading sees (issue 16: line patterns
	// missed flow mappings and members split over lines)
	{"YAML flow mappings", "yaml", "auth: {token: LEAK20a, user: admin}\nspec: {password: 'LEAK20b', port: 8080, tls: {privateKey: \"LEAK20c\"}}\n",
		[]string{"user: admin", "port: 8080"}},
	{"YAML flow mapping over lines", "yaml", "auth: {\n    user: admin,\n    token: LEAK21a,\n    ttl: 60\n  }\nmode: ipvs\n",
		[]string{"user: admin", "ttl: 60", "mode: ipvs"}},
	{"JSON member whose value is on the next line", "json", "{\n  \"password\":\n    \"LEAK22a\",\n  \"ip\": \"10.0.0.1\"\n}\n",
		[]string{`"ip": "10.0.0.1"`}},
	{"JSON object under a secret key over lines", "json", "{\"credentials\": {\n  \"user\": \"LEAK23a\",\n  \"key\": \"LEAK23b\",\n  \"port\": 5432\n}, \"host\": \"10.0.0.2\"}\n",
		[]string{`"host": "10.0.0.2"`, `"port": "<redacted>"`}},
	{"JSON array of secrets over lines", "json", "{\"tokens\": [\n  \"LEAK24a\",\n  \"LEAK24b\"\n], \"names\": [\"web\", \"api\"]}\n",
		[]string{`["web", "api"]`}},
	{"argv in JSON over lines: --token then its value", "json", "{\"command\": [\n  \"kube-proxy\",\n  \"--token\",\n  \"LEAK25a\",\n  \"--v=2\"\n]}\n",
		[]string{`"kube-proxy"`, `"--token"`, `"--v=2"`}},
	{"block mapping and list under a secret key", "yaml", "credentials:\n  user: LEAK26a\n  keys:\n  - LEAK26b\n  - id: LEAK26c\n    note: LEAK26d\nmode: ipvs\n",
		[]string{"mode: ipvs", "keys:", "- id: "}},
	{"argv in a YAML flow sequence", "yaml", "args: [--password, LEAK27a, --v=2, --secret-key, \"LEAK27b\"]\n",
		[]string{"--v=2", "--password"}},
	{"last-applied JSON in a block scalar (kubectl -o yaml)", "yaml",
		"metadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: |\n      {\"apiVersion\":\"v1\",\"data\":{\"auth\":{\"token\":\"LEAK28a\"},\"mode\":\"ipvs\"},\"kind\":\"ConfigMap\"}\n  name: cm\n",
		[]string{`"mode":"ipvs"`, "name: cm"}},
	{"last-applied JSON string in kubectl -o json", "json",
		"{\n  \"metadata\": {\n    \"annotations\": {\n      \"kubectl.kubernetes.io/last-applied-configuration\": \"{\\\"spec\\\":{\\\"containers\\\":[{\\\"env\\\":[{\\\"name\\\":\\\"API_TOKEN\\\",\\\"value\\\":\\\"LEAK29a\\\"},{\\\"name\\\":\\\"MODE\\\",\\\"value\\\":\\\"prod\\\"}]}]}}\\n\"\n    },\n    \"name\": \"web\"\n  }\n}\n",
		[]string{`\"value\":\"prod\"`, `"name": "web"`}},
	{"env entries in kubectl -o json over lines", "json",
		"{\"env\": [\n  {\n    \"name\": \"DB_PASSWORD\",\n    \"value\": \"LEAK30a\"\n  },\n  {\n    \"name\": \"MODE\",\n    \"value\": \"prod\"\n  }\n]}\n",
		[]string{`"value": "prod"`, `"name": "DB_PASSWORD"`}},
	{"YAML double-quoted secret over lines", "yaml", "password: \"LEAK31a LEAK31b\n  LEAK31c\"\nuser: admin\n",
		[]string{"user: admin"}},
	{"YAML plain secret continued on the next line", "yaml", "token: LEAK32a\n  LEAK32b\nuser: admin\n",
		[]string{"user: admin"}},
	{"CNI conflist with credentials nested over lines", "json", cniConflist2,
		[]string{`"type": "tke-route-eni"`, `"endpoints": ["https://10.0.0.9:2379"]`, `"subnet": "172.16.0.0/26"`}},
	{"tccli JSON Credential object", "json", "{\"Response\": {\"Credential\": {\n  \"TmpSecretId\": \"AKIDLEAK33abcdefghijk\",\n  \"Token\": \"LEAK33b\",\n  \"ExpiredTime\": 1700000000\n}, \"RequestId\": \"req-1\"}}\n",
		[]string{`"RequestId": "req-1"`}},
	{"command line inside a JSON string", "json", `{"command": ["sh", "-c", "exec app --api-key=LEAK34a --port=80 DB_PASS=LEAK34b"]}` + "\n",
		[]string{"--port=80", `"sh", "-c"`}},
	{"last-applied JSON in a single-quoted YAML scalar, secret nested", "yaml",
		"metadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"auth\":{\"credentials\":{\"user\":\"LEAK37a\",\"port\":5432}}},\"kind\":\"ConfigMap\",\"note\":\"it''s\"}'\n  name: cm\n",
		[]string{`"kind":"ConfigMap"`, "name: cm", `"note":"it''s"`}},
	// issue 16 item 9 variants found after the first corpus: an env entry
	// written value first, JSON escaped inside a JSON or YAML string at
	// any depth, registry credentials
	{"env entry with value before name (YAML)", "yaml", "env:\n- value: LEAK38a\n  name: DB_PASSWORD\n- name: MODE\n  value: prod\n",
		[]string{"name: DB_PASSWORD", "value: prod"}},
	{"env entry with value before name, indented, block scalar", "yaml",
		"spec:\n  containers:\n  - name: app\n    env:\n      - value: |\n          LEAK39a\n        name: API_TOKEN\n      - value: \"LEAK39b\"\n        name: X_SECRET\n    image: app:1\n",
		[]string{"name: API_TOKEN", "image: app:1", "name: app"}},
	{"env entries with value before name (JSON over lines, flow YAML)", "json",
		"{\"env\": [\n  {\"value\": \"LEAK40a\", \"name\": \"DB_PASSWORD\"},\n  {\n    \"value\": \"LEAK40b\",\n    \"name\": \"X_SECRET\"\n  },\n  {\"name\": \"MODE\", \"value\": \"prod\"}\n]}\n",
		[]string{`{"name": "MODE", "value": "prod"}`}},
	{"env entry with value before name in a YAML flow list", "yaml", "env: [{value: LEAK41a, name: DB_PASS}]\ncontainers:\n- env:\n  - {value: LEAK41b, name: API_KEY}\n",
		[]string{"name: DB_PASS", "name: API_KEY"}},
	{"escaped JSON in a JSON string: env value before name", "json",
		`{"metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"spec\":{\"containers\":[{\"env\":[{\"value\":\"LEAK42a\",\"name\":\"API_TOKEN\"}],\"image\":\"app:1\"}]}}\n"}}}` + "\n",
		[]string{`\"image\":\"app:1\"`}},
	{"escaped JSON in a JSON string: secrets nested under a secret key", "json",
		`{"annotations": {"last-applied": "{\"data\":{\"credentials\":{\"user\":\"LEAK43a\",\"port\":5432},\"tokens\":[\"LEAK43b\",\"LEAK43c\"],\"mode\":\"ipvs\"}}"}}` + "\n",
		[]string{`\"mode\":\"ipvs\"`}},
	{"JSON in a JSON string in a JSON string", "json",
		`{"a": "{\"data\":{\"config.json\":\"{\\\"password\\\":\\\"LEAK44a\\\",\\\"ip\\\":\\\"10.0.0.1\\\"}\",\"auth\":{\"secret\":{\"k\":\"LEAK44b\"}}}}"}` + "\n",
		[]string{`10.0.0.1`}},
	{"escaped JSON in a YAML double-quoted scalar", "yaml",
		"data:\n  config: \"{\\\"auth\\\":{\\\"user\\\":\\\"admin\\\",\\\"password\\\":\\\"LEAK45a\\\"},\\\"credentials\\\":[\\\"LEAK45b\\\"]}\"\n  mode: ipvs\n",
		[]string{"mode: ipvs", `\"user\":\"admin\"`}},
	{"pretty-printed JSON in a JSON string (\\n escapes)", "json",
		`{"cfg": "{\n  \"credentials\": {\n    \"key\": \"LEAK46a\"\n  },\n  \"ip\": \"10.0.0.1\"\n}\n", "n": 1}` + "\n",
		[]string{`\"ip\": \"10.0.0.1\"`, `"n": 1`}},
	{"--password=... as one container arg", "yaml", "args:\n- --db-password=LEAK47a\n- --v=2\ncommand: [\"app\", \"--api-key=LEAK47b\", \"--port=80\"]\n",
		[]string{"--v=2", "--port=80", "--db-password="}},
	{"image pull Secret: .dockerconfigjson and .dockercfg", "yaml",
		"data:\n  .dockerconfigjson: eyJhdXRocyI6eyJyZWcuZXhhbXBsZS5jb20iOnsiYXV0aCI6LEAK48a\n  .dockercfg: eyLEAK48b\n  other: kept\ntype: kubernetes.io/dockerconfigjson\n",
		[]string{"other: kept", "type: kubernetes.io/dockerconfigjson"}},
	{"docker config.json auths", "json",
		`{"auths": {"ccr.ccs.tencentyun.com": {"username": "100012345678", "password": "LEAK49a", "auth": "LEAK49b"}}, "credsStore": "desktop"}` + "\n",
		[]string{`"username": "100012345678"`, `"credsStore": "desktop"`}},
	{"basic auth in URLs inside JSON strings", "json",
		`{"endpoint": "https://etcd:LEAK50a@10.0.0.9:2379", "cfg": "{\"url\":\"http://admin:LEAK50b@10.0.0.8/x\"}"}` + "\n",
		[]string{`@10.0.0.9:2379`, `@10.0.0.8/x`}},
	{"crictl inspect envs as key/value pairs", "json",
		"{\"envs\": [\n  {\"key\": \"DB_PASSWORD\", \"value\": \"LEAK51a\"},\n  {\"key\": \"MODE\", \"value\": \"prod\"}\n]}\n",
		[]string{`{"key": "MODE", "value": "prod"}`}},
	{"Authorization header in a YAML flow mapping", "yaml", "headers: {Authorization: \"Basic LEAK35a\", Accept: json}\nprobe: {X-Auth-Token: LEAK35b}\n",
		[]string{"Accept: json"}},
}

// A CNI conflist whose etcd credentials sit in an object over lines.
const cniConflist2 = `{
  "cniVersion": "0.3.1",
  "name": "tke-bridge",
  "plugins": [
    {
      "type": "tke-route-eni",
      "etcd": {
        "endpoints": ["https://10.0.0.9:2379"],
        "credentials": {
          "username": "LEAK36a",
          "password": "LEAK36b"
        }
      },
      "ipam": {"type": "host-local", "subnet": "172.16.0.0/26"}
    }
  ]
}
`

// A CNI conflist of 17 lines whose TLS key is a PEM inside one JSON
// string, with a secret before it on the same line and lines after it.
const cniConflist = `{
  "cniVersion": "0.3.1",
  "name": "tke-bridge",
  "plugins": [
    {
      "type": "tke-route-eni",
      "etcd": {"password": "LEAK15before", "key": "-----BEGIN EC PRIVATE KEY-----\nLEAK15pem\n-----END EC PRIVATE KEY-----\n", "keyfile": "/etc/cni/net.d/tls.key"},
      "ipam": {
        "type": "host-local",
        "subnet": "172.16.0.0/26"
      }
    },
    {
      "type": "portmap"
    }
  ]
}
`

func TestRedactionCorpusLeaksNothingAndKeepsStructure(t *testing.T) {
	leaks := 0
	for _, c := range redactCorpus {
		t.Run(c.name, func(t *testing.T) {
			script := redactWithScript(t, c.in)
			goOut := RedactString(c.in)
			if script != goOut {
				t.Errorf("script and Go differ:\nscript:\n%s\ngo:\n%s", script, goOut)
			}
			for who, out := range map[string]string{"script": script, "go": goOut} {
				for i := strings.Index(out, "LEAK"); i >= 0; i = -1 {
					leaks++
					t.Errorf("%s leaks %q:\n%s", who, out[i:min(len(out), i+12)], out)
				}
				for _, k := range c.keep {
					if !strings.Contains(out, k) {
						t.Errorf("%s lost %q:\n%s", who, k, out)
					}
				}
				if !strings.Contains(out, "<redacted") {
					t.Errorf("%s: no redaction marker:\n%s", who, out)
				}
				if got, want := strings.Count(out, "\n"), strings.Count(c.in, "\n"); got != want {
					t.Errorf("%s: %d lines, input had %d:\n%s", who, got, want, out)
				}
				switch c.format {
				case "json":
					if !json.Valid([]byte(c.in)) {
						t.Fatalf("corpus input is not JSON")
					}
					if !json.Valid([]byte(out)) {
						t.Errorf("%s: redacted JSON is not valid:\n%s", who, out)
					}
				case "yaml":
					var a, b any
					if err := yaml.Unmarshal([]byte(c.in), &a); err != nil {
						t.Fatalf("corpus input is not YAML: %v", err)
					}
					if err := yaml.Unmarshal([]byte(out), &b); err != nil {
						t.Errorf("%s: redacted YAML is not valid: %v\n%s", who, err, out)
					}
				}
				if c.format != "text" {
					for _, p := range sameStructure(c.in, out) {
						t.Errorf("%s: %s\n%s", who, p, out)
					}
				}
			}
		})
	}
	t.Logf("redaction corpus: %d formats, both collectors, leaks: %d", len(redactCorpus), leaks)
}
