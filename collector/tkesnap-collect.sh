#!/usr/bin/env bash
# tkesnap-collect.sh — read-only collector for tkesnap bundles (tkesnap-bundle/v1).
#
#   tkesnap-collect.sh --cluster [--cluster-id cls-x --region ap-guangzhou]
#       [--kubeconfig FILE] [--context NAME] [-o OUT]
#   tkesnap-collect.sh --node [--node-name NAME] [-o OUT]
#       [--capture-host IP] [--capture-port PORT] [--seconds N]
#       [--capture-iface eth0] [--pod NS/NAME | --pod-netns NETNS]
#   tkesnap-collect.sh --merge A.tgz B.tgz ... [-o OUT] [--max-total-bytes N] [--max-entries N]
#
# OUT is a .tgz path or a directory (the tarball gets a clear name inside it).
# Exit: 0 when a bundle was written, even incomplete (failed commands are
# listed on stderr); 3 when cluster mode collected nothing; 2 on bad usage.
# The script never changes the machine: it only reads (no rule edits, no
# module loads — ipvsadm/ipset/nft/conntrack run only when their kernel
# module is already there, since a netlink request can autoload it), every
# command has a timeout and a size cap, missing tools are recorded in
# manifest.json instead of failing, and the temp dir is removed on exit.
# Secrets are never collected; tokens, passwords and keys in what is
# collected are replaced by <redacted> (IP addresses are kept on purpose).
set -u
export LC_ALL=C

VERSION="tkesnap-collect/1"
MODE=""
OUT=""
NODE_NAME=""
CLUSTER_ID="${TKE_CLUSTER_ID:-}"
REGION="${TENCENTCLOUD_REGION:-}"
CLUSTER_TYPE=""
TIMEOUT=20            # seconds per command
MAX_BYTES=$((16 << 20)) # per file
CONNTRACK_LINES=20000 # conntrack -L is bounded: big tables hold millions
CAP_HOST=""
CAP_PORT=""
CAP_SECONDS=10
CAP_IFACE="eth0"
CAP_PACKETS=20000
CAP_BYTES=$((32 << 20))
CAP_POD=""
CAP_NETNS=""
MERGE_INPUTS=()
MERGE_TOTAL=$((2 << 30))
MERGE_ENTRIES=200000
KUBECTL=(kubectl)
WORK=""
ROOT=""

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

die() { echo "tkesnap-collect: $*" >&2; exit 2; }

log() { echo "tkesnap-collect: $*" >&2; }

# ---------------------------------------------------------------- redaction
# redact filters stdin to stdout in two passes per line. By structure
# (sline): it follows the YAML/JSON document — block keys by indentation,
# JSON and flow collections token by token across lines, block scalars
# (whose text is read as a document too: last-applied JSON), multi-line
# scalars — and redacts every scalar under a key that names a credential
# at any depth, env values whose name names one, the element after a bare
# secret flag. Then by line patterns: JSON members inside JSON strings,
# key = value, KEY=value, --token=X / --token X, URL userinfo,
# Authorization/X-Auth-Token headers, bearer tokens, JWTs, PEM private
# keys, Tencent Cloud AKIDs. Only values change and each input line gives
# one output line, so YAML and JSON stay valid with the same line numbers.
# It keeps IPs and names. Plain awk on purpose: the script runs alone on
# nodes where python or the tkesnap binary may be missing.
# collector/redact.go and redact_struct.go are the same in Go.
redact() {
	awk '
	BEGIN {
		# a key that names a credential: ...token..., ...password..., ...secret...,
		# api/access/private key, client-key-data, credentials — or that ends
		# in pass/pwd (DB_PASS, MYSQL_PWD, "pass"). Keys may hold dots,
		# dashes and slashes (annotation keys: example.com/api-token).
		sens = "([A-Za-z0-9_./-]*([Tt][Oo][Kk][Ee][Nn]|[Pp][Aa][Ss][Ss][Ww][Oo]?[Rr][Dd]|[Ss][Ee][Cc][Rr][Ee][Tt]|[Aa][Pp][Ii][_-]?[Kk][Ee][Yy]|[Aa][Cc][Cc][Ee][Ss][Ss][_-]?[Kk][Ee][Yy]|[Pp][Rr][Ii][Vv][Aa][Tt][Ee][_-]?[Kk][Ee][Yy]|[Cc][Ll][Ii][Ee][Nn][Tt]-[Kk][Ee][Yy]-[Dd][Aa][Tt][Aa]|[Cc][Rr][Ee][Dd][Ee][Nn][Tt][Ii][Aa][Ll][Ss]?)[A-Za-z0-9_.-]*|[A-Za-z0-9_./-]*([Pp][Aa][Ss][Ss]|[Pp][Ww][Dd]))"
		q = "\\\\?\""          # a quote, maybe escaped inside a JSON string
		blockopen = "[ \t]*:[ \t]*[|>][-+0-9]*[ \t]*$"
		# keys that name a credential only as a whole key: an image pull
		# Secret: .dockerconfigjson / .dockercfg ("auth" is apart: a scalar
		# under it is secret, a mapping under it is read as any other)
		sensonly = "\\.?[Dd][Oo][Cc][Kk][Ee][Rr]([Cc][Oo][Nn][Ff][Ii][Gg][Jj][Ss][Oo][Nn]|[Cc][Ff][Gg])"
		senskey = "^(" sens "|" sensonly ")$"; sensflag = "^--" sens "$"
		keepre = "^(~|null|Null|NULL|true|True|TRUE|false|False|FALSE|\"\"|\047\047)$"
		SQ = "\047"; fn = 0; fover = 0; fbase = 0; emb = 0; bn = 0; bson = 0; envcol = -1; envun = -1
	}
	{
		orig = $0
		# by structure first (see sline), then the line patterns below
		line = sline(orig)
		# inside a PEM private key that began on an earlier line: each of
		# its lines becomes <redacted> (line numbers stay those of the file)
		if (inpem) {
			if (match(line, /-----END [A-Z ]*PRIVATE KEY-----/)) {
				inpem = 0; rest = substr(line, RSTART + RLENGTH)
				if (rest ~ /^[ \t"]*$/) { match(line, /^ */); print substr(line, 1, RLENGTH) "<redacted>"; next }
				line = rest
			} else {
				if (orig ~ /-----END [A-Z ]*PRIVATE KEY-----/) inpem = 0
				match(line, /^ */); print substr(line, 1, RLENGTH) "<redacted>"; next
			}
		}
		# PEM private keys, also whole on one line (a JSON string with \n):
		# from BEGIN to END becomes one marker; without END on the line the
		# rest of the line and the following lines up to END go.
		while (match(line, /-----BEGIN [A-Z ]*PRIVATE KEY-----/)) {
			pre = substr(line, 1, RSTART - 1); rest = substr(line, RSTART)
			if (match(rest, /-----END [A-Z ]*PRIVATE KEY-----/)) { line = pre "<redacted private key>" substr(rest, RSTART + RLENGTH) }
			else if ((qe = quote_end(pre, rest)) > 0) { line = pre "<redacted private key>" substr(rest, qe) }
			else { line = pre "<redacted private key>"; inpem = 1; break }
		}
		# env list entries: "- name: DB_PASSWORD" followed by "value: ..."
		if (pendval && line ~ /^[ \t-]*value:/) {
			pendval = 0
			if (line !~ ("^[ \t-]*value" blockopen)) { sub(/value:.*/, "value: <redacted>", line); print line; next }
		}
		pendval = 0
		if (line ~ ("^[ \t-]*name:[ \t]*\"?" sens "\"?[ \t]*$")) pendval = 1
		# a flag whose value is the next list element: "- --token" / "- SECRET"
		if (pendflag && line ~ /^[ \t]*-[ \t]+[^ \t]/) { pendflag = 0; sub(/-[ \t]+.*/, "- <redacted>", line); print line; next }
		pendflag = (line ~ ("^[ \t]*-[ \t]+[\"\047]?--" sens "[\"\047]?[ \t]*$"))
		# Authorization: <scheme> <credential>, X-Auth-Token: <token>
		line = subkv(line, "[Aa][Uu][Tt][Hh][Oo][Rr][Ii][Zz][Aa][Tt][Ii][Oo][Nn]" q "?[ \t]*[:=][ \t]*" q "?[ \t]*[A-Za-z]+[ \t]+", "[ \t\"\047\\\\,]|$")
		line = subkv(line, "[Xx]-[Aa][Uu][Tt][Hh]-[Tt][Oo][Kk][Ee][Nn]" q "?[ \t]*[:=][ \t]*" q "?[ \t]*", "[ \t\"\047\\\\,]|$")
		# bearer tokens anywhere
		gsub(/[Bb][Ee][Aa][Rr][Ee][Rr][ \t]+[A-Za-z0-9._~+\/=-]+/, "Bearer <redacted>", line)
		# JWT-shaped values (header.payload.signature, header base64 of {")
		gsub(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/, "<redacted>", line)
		# Tencent Cloud SecretId (spelled out: mawk has no {n,m} intervals)
		gsub(/AKID[A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9][A-Za-z0-9]+/, "<redacted>", line)
		# URL userinfo: scheme://user:password@host
		line = userinfo(line)
		# JSON "key": "value" (also escaped inside annotations: \"key\":\"value\")
		line = subkv(line, "(\\\\?\")" sens q "[ \t]*:[ \t]*" q, q, 1)
		# env pairs inside JSON: {"name":"DB_PASSWORD","value":"..."}
		line = subkv(line, q "name" q "[ \t]*:[ \t]*" q sens q "[ \t]*,[ \t]*" q "value" q "[ \t]*:[ \t]*" q, q)
		# a flag and its value as two JSON list elements: "--token", "..."
		line = subkv(line, q "--" sens q "[ \t]*,[ \t]*" q, q)
		# YAML embedded in a JSON string ("...\n    token: xyz\n...")
		line = subkv(line, "\\\\n[ \t-]*" sens "[ \t]*:[ \t]*", "\\\\|\"", 1)
		# YAML key: value (plain, not a map opener, not already redacted
		# above; a safety net behind sline, never on a JSON line)
		if (line !~ /<redacted>/ && match(line, "^[ \t-]*" sens "[ \t]*:[ \t]+[^ \t{[|>]")) {
			k = line; sub(/:[ \t]+.*/, "", k); line = k ": <redacted>"
		}
		# key = value (ini, properties: spaces around =) at the start of a line
		if (line !~ /<redacted>/ && match(line, "^[ \t]*" sens "([ \t]+=[ \t]*|[ \t]*=[ \t]+)[^ \t]")) {
			line = substr(line, 1, RSTART + RLENGTH - 2) "<redacted>"
		}
		# command-line flags --token=xxx / --password xxx and KEY=value pairs
		line = subflag(line)
		print line
	}
	# ------------------------------------------------ redaction by structure
	# sline follows where a line sits in the YAML or JSON document (keys of
	# block YAML by indentation, JSON and YAML flow collections token by
	# token across lines, block scalars, multi-line scalars) and replaces
	# every scalar under a key that names a credential however deep, the
	# value of an env entry whose name names one, and a list element after
	# a bare secret flag. An env entry that gives its value before its name
	# has its value redacted whatever the name (holding lines back until
	# the name comes is not worth it); a scalar under "auth" is secret
	# (docker config: base64 user:password). JSON inside a JSON string or
	# a YAML double-quoted scalar is unescaped and read the same way
	# (embedded). Only scalars change, in place: keys, quotes,
	# brackets and line breaks stay. collector/redact_struct.go is the same
	# in Go, function for function (columns there count from 0).
	function sline(l,   ind, rest, r, sec, q, e, c, p, item, k, after, ch, key, keysec, esec, v, n, t, envl) {
		match(l, /^ */); ind = RLENGTH
		rest = substr(l, ind + 1); r = rest; sub(/^[ \t]+/, "", r)
		if (bson) {
			if (r == "") return l
			if (ind > bscol) { if (bssec) return substr(l, 1, ind) "<redacted>" }
			else { bson = 0; fn = 0; fover = 0 }
		}
		if (fn + fover > 0) return flow(l, 1, 0, 0)
		if (r == "" || substr(r, 1, 1) == "#") return l
		if (ind == 0 && (rest == "---" || rest == "..." || substr(rest, 1, 4) == "--- " || substr(rest, 1, 4) == "... ")) { bn = 0; envcol = -1; envun = -1; return l }
		while (bn > 0) {
			if (ind > bcol[bn] || (ind == bcol[bn] && !bscal[bn] && isitem(rest))) break
			bn--
		}
		if (ind < envcol) envcol = -1
		if (ind < envun) envun = -1
		sec = (bn > 0 && bsec[bn])
		envl = (bn > 0 && benv[bn])
		if (bn > 0 && bscal[bn]) {
			# the next line of a multi-line scalar
			q = bquote[bn]
			if (!sec) return l
			if (q != "") { e = qend(l, ind + 1, q); if (e > 0) { bquote[bn] = ""; return substr(l, 1, ind) "<redacted>" substr(l, e) } }
			return substr(l, 1, ind) "<redacted>"
		}
		c = ind; p = rest; item = 0
		while (isitem(p)) {
			item = 1; k = 2
			while (k <= length(p) && substr(p, k, 1) == " ") k++
			c += k - 1; p = substr(p, k)
		}
		if (p == "") return l
		after = splitkey(p)
		if (after < 0) {
			# a scalar or collection without a key: a list item, or the
			# value of the key above on its own line
			ch = substr(p, 1, 1)
			if (ch == "|" || ch == ">") { bson = 1; bscol = ind; bssec = sec; return l }
			if (ch == "{" || ch == "[") return flow(l, c + 1, sec, (item && envl) ? 2 : 0)
			if (sec && !keep(p)) return substr(l, 1, c) rscalar(p, 0)
			if (ch == "\"") { e = qend(p, 2, ch); if (e > 0) return substr(l, 1, c) embedded(substr(p, 1, e)) substr(p, e + 1) }
			return l
		}
		key = SKEY
		# an entry of an env list: secret "value" until its name is seen
		if (item && envl) envun = c
		keysec = (key ~ senskey) || (key == "value" && (c == envcol || c == envun))
		if (key == "name" || key == "key") {
			envcol = -1
			if (c == envun) envun = -1
			t = substr(p, after + 1); sub(/^[ \t\r]+/, "", t); sub(/[ \t\r]+$/, "", t)
			if (unq(t) ~ senskey) envcol = c
		} else if (item || c < envcol) envcol = -1
		esec = sec || keysec
		v = c + after + 1; n = length(l)
		while (v <= n && (substr(l, v, 1) == " " || substr(l, v, 1) == "\t")) v++
		# node properties before the value: &anchor !tag
		while (v <= n && (substr(l, v, 1) == "&" || substr(l, v, 1) == "!")) {
			while (v <= n && substr(l, v, 1) != " ") v++
			while (v <= n && substr(l, v, 1) == " ") v++
		}
		ch = substr(l, v, 1)
		if (v > n || ch == "#") { bpush(c, esec, 0, "", key == "env"); return l }
		if (ch == "|" || ch == ">") { bson = 1; bscol = c; bssec = esec || key == "auth"; return l }
		if (ch == "{" || ch == "[") return flow(l, v, esec, key == "env" ? 1 : 0)
		# a scalar under auth is secret (a mapping under it is read as any other)
		if (key == "auth") esec = 1
		q = ""
		if ((ch == "\"" || ch == SQ) && qend(l, v + 1, ch) == 0) q = ch
		bpush(c, esec, 1, q, 0)
		if (esec && !keep(substr(l, v))) return substr(l, 1, v - 1) rscalar(substr(l, v), 0)
		# JSON escaped in a double-quoted scalar on one line
		if (ch == "\"") { e = qend(l, v + 1, ch); if (e > 0) return substr(l, 1, v - 1) embedded(substr(l, v, e - v + 1)) substr(l, e + 1) }
		# JSON in a single-quoted scalar on one line (an annotation such as
		# last-applied-configuration without its final newline): read as a
		# flow collection of its own
		if (ch == SQ && (substr(l, v + 1, 1) == "{" || substr(l, v + 1, 1) == "[")) {
			e = qend(l, v + 1, SQ)
			if (e > 0) { t = flow(substr(l, v + 1, e - v - 1), 1, 0, 0); fn = 0; fover = 0; return substr(l, 1, v) t substr(l, e) }
		}
		return l
	}
	# a PEM key beginning inside a double-quoted string (odd count of
	# unescaped quotes in pre) with no END ends with the string when it
	# closes on the line: the position in rest of its closing quote, else 0
	# (redact.go pemQuoteEnd)
	function quote_end(pre, rest,   i, n) {
		n = 0
		for (i = 1; i <= length(pre); i++) if (substr(pre, i, 1) == "\"" && !escd(pre, i)) n++
		if (n % 2 == 0) return 0
		for (i = 1; i <= length(rest); i++) if (substr(rest, i, 1) == "\"" && !escd(rest, i)) return i
		return 0
	}
	function escd(s, i,   n) { n = 0; while (i > 1 && substr(s, i - 1, 1) == "\\") { n++; i-- }; return n % 2 }
	function isitem(p) { return p == "-" || substr(p, 1, 2) == "- " }
	function keep(t) { return t == "" || t ~ keepre }
	function unq(t,   ch) {
		ch = substr(t, 1, 1)
		if (length(t) >= 2 && (ch == "\"" || ch == SQ) && substr(t, length(t), 1) == ch) return substr(t, 2, length(t) - 2)
		return t
	}
	function bpush(c, s, sc, q, ev) { bn++; bcol[bn] = c; bsec[bn] = s; bscal[bn] = sc; bquote[bn] = q; benv[bn] = ev }
	# splitkey: "key:" at the start of p (plain or quoted key, the colon
	# followed by a blank or the end) sets SKEY and returns the position of
	# the colon; -1 when p is no mapping entry
	function splitkey(p,   ch, e, k, n, cp, hp) {
		SKEY = ""; n = length(p); ch = substr(p, 1, 1)
		if (ch == "\"" || ch == SQ) {
			e = qend(p, 2, ch); if (e == 0) return -1
			k = e + 1
			while (k <= n && substr(p, k, 1) == " ") k++
			if (k <= n && substr(p, k, 1) == ":" && (k == n || substr(p, k + 1, 1) == " " || substr(p, k + 1, 1) == "\t")) { SKEY = substr(p, 2, e - 2); return k }
			return -1
		}
		if (index("{[&*!|>%@`#", ch)) return -1
		cp = match(p, /:[ \t]/)
		if (!cp && substr(p, n, 1) == ":") cp = n
		if (!cp) return -1
		hp = match(p, /[ \t]#/)
		if (hp && hp + 1 < cp) return -1
		SKEY = substr(p, 1, cp - 1)
		return cp
	}
	# qend: position of the quote q closing a scalar whose text starts at
	# i (\047\047 is an escaped \047, \" an escaped "), 0 if the line ends first
	function qend(s, i, q,   n, ch) {
		n = length(s)
		for (; i <= n; i++) {
			ch = substr(s, i, 1)
			if (q == "\"" && ch == "\\") { i++; continue }
			if (ch == q) {
				if (q == SQ && substr(s, i + 1, 1) == SQ) { i++; continue }
				return i
			}
		}
		return 0
	}
	# rscalar: scalar t redacted with its quotes kept; plain becomes
	# "<redacted>" in a flow collection (valid JSON), <redacted> in block YAML
	function rscalar(t, fl,   ch, e) {
		ch = substr(t, 1, 1)
		if (ch == "\"" || ch == SQ) {
			e = qend(t, 2, ch)
			if (e > 0) return ch "<redacted>" ch substr(t, e + 1)
			return ch "<redacted>"
		}
		return fl ? "\"<redacted>\"" : "<redacted>"
	}
	# flow reads l from i on in flow context; base: is a collection opened
	# at the top level secret; ctx: 1 it is the value of a block key env,
	# 2 an item of a block env list. What follows the outermost close is
	# kept. In JSON unescaped from a string (embedded) \001 and the byte
	# after it are an escape that was not a quote or backslash: blank.
	function flow(l, i, base, ctx,   out, mark, n, ch, sec, ev, j, tok, rep) {
		out = ""; mark = 1; n = length(l)
		while (i <= n) {
			ch = substr(l, i, 1)
			if (fn + fover == fbase && ch != "{" && ch != "[") break
			if (ch == " " || ch == "\t" || ch == "\r") { i++; continue }
			if (ch == "\001") { i += 2; continue }
			if (ch == "{" || ch == "[") {
				sec = base; ev = (ctx == 1 && ch == "[") || (ctx == 2 && ch == "{")
				if (fn + fover > fbase) { sec = vsec(); ev = openenv(ch); vdone("") }
				fpush(ch, sec, ev); i++; continue
			}
			if (ch == "}" || ch == "]") {
				fpop(); i++
				if (fn + fover == fbase) break
				continue
			}
			if (ch == ",") { if (fover == 0 && ftyp[fn] == "{") { fkey[fn] = 1; fksec[fn] = 0; fname[fn] = 0; fauth[fn] = 0; fkenv[fn] = 0 }; i++; continue }
			if (ch == ":") { if (fover == 0 && ftyp[fn] == "{") fkey[fn] = 0; i++; continue }
			if (ch == "#" && (i == 1 || substr(l, i - 1, 1) == " " || substr(l, i - 1, 1) == "\t")) break
			if (ch == "\"" || ch == SQ) {
				j = qend(l, i + 1, ch); j = (j == 0) ? n + 1 : j + 1
			} else {
				j = i
				while (j <= n) {
					ch = substr(l, j, 1)
					if (index(",[]{}\001", ch)) break
					if (ch == ":" && (j == n || index(" \t,[]{}", substr(l, j + 1, 1)))) break
					if (ch == "#" && (substr(l, j - 1, 1) == " " || substr(l, j - 1, 1) == "\t")) break
					j++
				}
				while (j > i && (substr(l, j - 1, 1) == " " || substr(l, j - 1, 1) == "\t")) j--
			}
			tok = substr(l, i, j - i)
			rep = fscalar(tok)
			if (rep != tok) { out = out substr(l, mark, i - mark) rep; mark = j }
			i = j
		}
		return out substr(l, mark)
	}
	function fpush(t, sec, ev) {
		if (fn >= 64) { fover++; return }
		fn++; ftyp[fn] = t; fsec[fn] = sec; fkey[fn] = (t == "{"); fksec[fn] = 0; fname[fn] = 0; fenv[fn] = 0; ffl[fn] = 0
		fauth[fn] = 0; fkenv[fn] = 0; fe[fn] = ev
	}
	# openenv: is a collection opened here an env list (value of key env)
	# or an entry of one (fe: the list is of env entries, the entry has no name yet)
	function openenv(ch) {
		if (fover > 0 || fn < 1) return 0
		if (ftyp[fn] == "{") return ch == "[" && fkenv[fn]
		return ch == "{" && fe[fn]
	}
	function fpop() { if (fover > 0) { fover--; return }; if (fn > 0) fn-- }
	function vsec() { if (ftyp[fn] == "{") return fsec[fn] || fksec[fn]; return fsec[fn] || ffl[fn] }
	function vdone(t) {
		if (ftyp[fn] == "{") { if (fname[fn]) fenv[fn] = (t ~ senskey); return }
		ffl[fn] = (!fsec[fn] && !ffl[fn] && t ~ sensflag)
	}
	function fscalar(tok,   t, sec) {
		t = unq(tok)
		if (ftyp[fn] == "{" && fkey[fn]) {
			fksec[fn] = (t ~ senskey) || (t == "value" && (fenv[fn] || fe[fn]))
			fname[fn] = (t == "name" || t == "key")
			if (fname[fn]) fe[fn] = 0
			fauth[fn] = (t == "auth"); fkenv[fn] = (t == "env")
			return tok
		}
		sec = vsec() || (ftyp[fn] == "{" && fauth[fn]); vdone(t)
		if (sec && !keep(tok)) return rscalar(tok, 1)
		if (substr(tok, 1, 1) == "\"") return embedded(tok)
		return tok
	}
	# embedded reads JSON held in the double-quoted token tok as a flow
	# collection of its own, on top of the stack, and returns tok with the
	# secrets in it redacted, escaped as they were. Only quotes and
	# backslashes are unescaped; any other escape becomes \001 and its
	# letter, so escaping again gives the same bytes. Content holding
	# \001 or \002 itself is left alone; at most 4 levels deep.
	function embedded(tok,   c, k, n, ch, n0, o0, b0, out) {
		if (emb >= 4 || length(tok) < 3 || substr(tok, length(tok), 1) != "\"" || index(tok, "\001") || index(tok, "\002")) return tok
		c = substr(tok, 2, length(tok) - 2)
		gsub(/\\\\/, "\002", c); gsub(/\\"/, "\"", c); gsub(/\\/, "\001", c)
		c = strrep(c, "\002", "\\")
		k = 1; n = length(c)
		while (k <= n) {
			ch = substr(c, k, 1)
			if (ch == "\001") k += 2
			else if (ch == " " || ch == "\t") k++
			else break
		}
		ch = substr(c, k, 1)
		if (k > n || (ch != "{" && ch != "[")) return tok
		n0 = fn; o0 = fover; b0 = fbase
		fbase = fn + fover; emb++
		out = flow(c, k, 0, 0)
		emb--; fn = n0; fover = o0; fbase = b0
		if (out == c) return tok
		out = strrep(out, "\\", "\\\\"); out = strrep(out, "\"", "\\\""); out = strrep(out, "\001", "\\")
		return "\"" out "\""
	}
	# strrep: s with every from replaced by to (plain text, no regexp)
	function strrep(s, from, to,   out, i, m) {
		out = ""; m = length(from)
		while ((i = index(s, from)) > 0) { out = out substr(s, 1, i - 1) to; s = substr(s, i + m) }
		return out s
	}
	function userinfo(s,   out, m, i, rest, j) {
		out = ""
		while (match(s, "[A-Za-z][A-Za-z0-9+.-]*://[^/:@ \t\"\047\\\\]*:[^/@ \t\"\047\\\\]*@")) {
			m = substr(s, RSTART, RLENGTH)
			i = index(m, "://"); rest = substr(m, i + 3); j = index(rest, ":")
			out = out substr(s, 1, RSTART - 1) substr(m, 1, i + 2) substr(rest, 1, j) "<redacted>@"
			s = substr(s, RSTART + RLENGTH)
		}
		return out s
	}
	function subkv(s, pre, post, dummy,   out, rest) {
		out = ""
		while (match(s, pre)) {
			out = out substr(s, 1, RSTART + RLENGTH - 1)
			rest = substr(s, RSTART + RLENGTH)
			if (rest == "") { s = ""; break }
			if (match(rest, post)) { if (RSTART > 1) out = out "<redacted>"; s = substr(rest, RSTART); if (RSTART == 1 && RLENGTH == 0) { out = out s; s = ""; break } } else { out = out rest; s = "" }
		}
		return out s
	}
	function subflag(s,   out, flag, st, ln) {
		out = ""
		while (match(s, "(--" sens "(=|[ \t]+)|(^|[ \t\"\047&?;,])" sens "[ \t]*=)[^ \t\"\047&;,\\\\]+")) {
			st = RSTART; ln = RLENGTH
			flag = substr(s, st, ln)
			if (flag ~ /^--/) {
				if (match(flag, /[= \t]/)) { flag = substr(flag, 1, RSTART) }
			} else { sub(/=.*/, "=", flag) }
			out = out substr(s, 1, st - 1) flag "<redacted>"
			s = substr(s, st + ln)
		}
		return out s
	}'
}

# ---------------------------------------------------------------- helpers
now_ms() { date +%s%3N; }

# json_str prints its argument as a JSON string. Control and non-ASCII
# bytes are dropped: manifest strings are diagnostics, not data.
# In bash itself (no tr/sed/awk per string): the manifest writes several
# a record, and forks are what a loaded node is slow at.
json_str() {
	local s=${1%$'\n'}
	s=${s//[!$'\t\n'\ -~]/}
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\n'/\\n}
	printf '"%s"' "$s"
}

# record PATH COMMAND EXIT DURATION_MS BYTES TRUNCATED STDERR SKIPPED
record() {
	{
		printf '{"path":%s,"command":%s,"node":%s,"exit_code":%d,"duration_ms":%d,"bytes":%d,"truncated":%s' \
			"$(json_str "$1")" "$(json_str "$2")" "$(json_str "$NODE_NAME")" "$3" "$4" "$5" "$6"
		[ -n "$7" ] && printf ',"stderr":%s' "$(json_str "$7")"
		[ -n "$8" ] && printf ',"skipped":%s' "$(json_str "$8")"
		printf '}\n'
	} >>"$WORK/records"
	# A command that ran and failed (not one skipped on purpose) is listed
	# to the customer at the end of the run: see report_failures.
	if [ "$3" != 0 ] && [ -z "$8" ]; then
		printf '%s\037%s\037%s\037%s\n' "$1" "$(printf '%s' "$2" | tr -cd '\11\40-\176')" "$3" "$(last_line "$7")" >>"$WORK/failures"
	fi
}

# last_line TEXT: the last non-blank line of TEXT, trimmed, printable ASCII,
# at most 200 bytes (what the analyzer's COLLECTION_FAILED quotes).
last_line() {
	printf '%s\n' "$1" | tr -cd '\11\12\40-\176' |
		awk 'NF { l = $0 } END { gsub(/^[ \t]+|[ \t]+$/, "", l); if (length(l) > 200) l = substr(l, 1, 200) "..."; print l }'
}

# report_failures BUNDLE: tell the customer, on stderr, which commands
# failed (path, command, exit code, last stderr line) before they upload
# an incomplete bundle. At most 20 lines; manifest.json has them all.
report_failures() {
	local f="$WORK/failures" n
	[ -s "$f" ] || return 0
	n=$(wc -l <"$f")
	{
		echo "tkesnap-collect: WARNING: $n command(s) failed, the bundle is INCOMPLETE (the analyzer reports them as COLLECTION_FAILED):"
		head -n 20 "$f" | awk -F '\037' '{ printf "  %s: `%s` exit %s%s\n", $1, $2, $3, ($4 == "" ? "" : ": " $4) }'
		[ "$n" -gt 20 ] && echo "  ... and $((n - 20)) more (see manifest.json)"
		echo "tkesnap-collect: fix the cause if you can (kubeconfig/--context, tccli credentials, run as root) and run again; otherwise upload $1 as it is."
	} >&2
}

# collected_any: did at least one command run and succeed?
collected_any() {
	grep '"exit_code":0,' "$WORK/records" | grep -vq '"skipped":'
}

skip() { # skip PATH COMMAND REASON
	record "$1" "$2" 127 0 0 false "" "$3"
}

# have TOOL: is the command installed?
have() { command -v "$1" >/dev/null 2>&1; }

# MODROOT prefixes the kernel-state paths below; tests point it at a fake
# tree (a node with no module loaded). Empty on a real node.
MODROOT="${TKESNAP_MODULE_ROOT:-}"

# module_ready NAME: the kernel already has NAME (loaded or built in), so a
# netlink request from a read-only tool cannot trigger a module load.
module_ready() {
	[ -d "$MODROOT/sys/module/$1" ] && return 0
	# A kernel without loadable modules cannot autoload anything.
	[ -e "$MODROOT/proc/modules" ] || return 0
	grep -q "/$1\.ko" "$MODROOT/lib/modules/$(uname -r)/modules.builtin" 2>/dev/null
}

# kernel_has PATH: a /proc file that exists only once its module is loaded.
kernel_has() { [ -e "$MODROOT$1" ]; }

# tables_ready SAVE-TOOL LEGACY-PROC-FILE: reading the tool's backend loads
# nothing — nf_tables for an nft-based tool (its --version says so, and
# asking for it touches no kernel state), the legacy tables' /proc file
# (present only when ip_tables/ip6_tables is loaded) otherwise.
tables_ready() {
	case $("$1" --version 2>/dev/null) in
	*nf_tables*) module_ready nf_tables ;;
	*) kernel_has "$2" ;;
	esac
}

# run PATH [--redact] [--lines N] [--timeout S] -- CMD ARGS...
# Runs CMD with a timeout, caps its output, writes it to $ROOT/PATH and
# records it in the manifest. A missing tool is recorded, not fatal.
run() {
	local path=$1
	shift
	local red=0 lines=0 tmo=$TIMEOUT
	while [ $# -gt 0 ] && [ "$1" != "--" ]; do
		case $1 in
		--redact) red=1 ;;
		--lines) lines=$2; shift ;;
		--timeout) tmo=$2; shift ;;
		esac
		shift
	done
	shift
	local cmdline
	cmdline=$(printf '%s ' "$@" | redact)
	cmdline=${cmdline% }
	if ! have "$1"; then
		skip "$path" "$cmdline" "$1 not found"
		return 0
	fi
	local out="$ROOT/$path" err="$WORK/stderr"
	mkdir -p "$(dirname "$out")"
	local t0 t1 rc bytes trunc=false
	t0=$(now_ms)
	# The pipeline: command (timeout) | bounded reader | redaction | line
	# cap | byte cap. timeout kills the command's process group; the
	# bounded reader ends the pipeline even when a descendant that left the
	# group (setsid) keeps the pipe open, and that descendant is killed.
	local st
	with_timeout "$tmo" "$@" 2>"$err" </dev/null |
		bounded_read $((tmo + 3)) |
		{ if [ "$red" = 1 ]; then redact; else cat; fi; } |
		{ if [ "$lines" -gt 0 ]; then head -n "$lines"; else cat; fi; } |
		head -c $((MAX_BYTES + 1)) >"$out"
	st=("${PIPESTATUS[@]}")
	rc=${st[0]}
	if [ "${st[1]}" = 124 ] || [ "${st[1]}" = 137 ]; then
		kill_pipe_holders
		rc=124
	fi
	t1=$(now_ms)
	bytes=$(wc -c <"$out")
	if [ "$bytes" -gt "$MAX_BYTES" ]; then
		truncate -s "$MAX_BYTES" "$out"
		bytes=$MAX_BYTES
		trunc=true
	fi
	if [ "$lines" -gt 0 ] && [ "$(wc -l <"$out")" -ge "$lines" ]; then
		trunc=true
	fi
	local etail
	etail=$(tail -c 400 "$err" | redact)
	[ "$rc" = 124 ] && etail="timed out after ${tmo}s${etail:+; $etail}"
	record "$path" "$cmdline" "$rc" $((t1 - t0)) "$bytes" "$trunc" "$etail" ""
}

# bounded_read SECONDS: copy stdin to stdout for at most SECONDS (then the
# reader is stopped: exit 124), noting the pipe it reads in $WORK/pipe.
bounded_read() {
	readlink "/proc/$BASHPID/fd/0" >"$WORK/pipe" 2>/dev/null
	if have timeout; then
		timeout "$1" cat
	else
		cat
	fi
}

# kill_pipe_holders: kill what still holds the pipe bounded_read read —
# descendants of a timed-out command that escaped its process group.
kill_pipe_holders() {
	local p pid
	p=$(cat "$WORK/pipe" 2>/dev/null)
	case $p in pipe:\[[0-9]*\]) ;; *) return 0 ;; esac
	p=${p#pipe:[}
	p=${p%]}
	for pid in $(find /proc/[0-9]*/fd -maxdepth 1 -lname "pipe:\[$p\]" 2>/dev/null | cut -d/ -f3 | sort -u); do
		[ "$pid" != $$ ] && kill -KILL "$pid" 2>/dev/null
	done
	return 0
}

# with_timeout SECONDS CMD...: coreutils timeout when there is one (exit
# 124 on expiry); without it the command runs unbounded rather than not at all.
with_timeout() {
	local t=$1
	shift
	if have timeout; then
		timeout -k 2 "$t" "$@"
	else
		"$@"
	fi
}

# note PATH COMMAND TEXT: write a small file the script composed itself.
note() {
	local out="$ROOT/$1"
	mkdir -p "$(dirname "$out")"
	printf '%s\n' "$3" | redact >"$out"
	record "$1" "$2" 0 0 "$(wc -c <"$out")" false "" ""
}

write_manifest() { # write_manifest DIR RECORDS_FILE
	local d=$1 recs=$2
	{
		printf '{\n"format": "tkesnap-bundle/v1",\n"created": "%s",\n"collector_version": %s,\n' \
			"$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$(json_str "$VERSION")"
		printf '"cluster": {"id": %s, "type": %s, "region": %s},\n' \
			"$(json_str "$CLUSTER_ID")" "$(json_str "$CLUSTER_TYPE")" "$(json_str "$REGION")"
		printf '"files": [\n'
		# one record a line, so --merge can combine manifests without jq
		sed '$!s/$/,/' "$recs"
		printf ']\n}\n'
	} >"$d/manifest.json"
}

# pack NAME: tar the bundle root into one .tgz and print its path.
pack() {
	local name=$1 dest
	if [ -z "$OUT" ]; then
		dest="$PWD/$name.tgz"
	elif [ -d "$OUT" ] || [ "${OUT%/}" != "$OUT" ]; then
		mkdir -p "$OUT"
		dest="${OUT%/}/$name.tgz"
	else
		dest=$OUT
	fi
	# A fresh temp file next to dest (mktemp: O_EXCL, mode 0600), never a
	# predictable name: in a shared folder a planted link at dest.part
	# would make root write through it.
	local part
	part=$(mktemp "$dest.part.XXXXXX") || return 1
	if ! tar -C "$WORK" -czf "$part" "$name" || ! mv -f "$part" "$dest"; then
		rm -f "$part"
		return 1
	fi
	echo "$dest"
}

# valid_host S: S is one IPv4 or IPv6 address, optionally /prefix.
valid_host() {
	printf '%s\n' "$1" | awk '
	function v4(a,   n, o, i) {
		n = split(a, o, ".")
		if (n != 4) return 0
		for (i = 1; i <= 4; i++) if (o[i] !~ /^[0-9]+$/ || length(o[i]) > 3 || o[i] + 0 > 255) return 0
		return 1
	}
	NR > 1 { exit 1 }
	{
		a = $0; plen = ""
		if (index(a, "/")) { plen = substr(a, index(a, "/") + 1); a = substr(a, 1, index(a, "/") - 1) }
		if (v4(a)) max = 32
		else if (a ~ /^[0-9A-Fa-f:.]+$/ && index(a, ":") && a !~ /:::/ && gsub(/::/, "::", a) <= 1) max = 128
		else exit 1
		if (plen != "" && (plen !~ /^[0-9]+$/ || length(plen) > 3 || plen + 0 > max)) exit 1
	}'
}

# valid_port S: S is a port number 1-65535.
valid_port() {
	case $1 in "" | *[!0-9]* | 0*) return 1 ;; esac
	[ "${#1}" -le 5 ] && [ "$1" -le 65535 ]
}

stamp() { date -u +%Y%m%dT%H%M%SZ; }

safe_name() { printf '%s' "$1" | tr -c 'A-Za-z0-9._-' '_'; }

# ---------------------------------------------------------------- node mode
iptables_backends() {
	local n="nodes/$NODE_NAME"
	if ! have iptables-save; then
		run "$n/iptables-save.txt" -- iptables-save -c
	elif tables_ready iptables-save /proc/net/ip_tables_names; then
		run "$n/iptables-save.txt" -- iptables-save -c
	else
		skip "$n/iptables-save.txt" "iptables-save -c" "its tables module is not loaded: no rules (reading would load it)"
	fi
	# Both backends hold rules on some nodes (a legacy kube-proxy next to an
	# nft CNI): save each separately so the analyzer can tell. The legacy
	# tables are read only when ip_tables is loaded; nft only when nf_tables
	# is there (reading does not load them then).
	if have iptables-legacy-save && have iptables-nft-save; then
		if kernel_has /proc/net/ip_tables_names; then
			run "$n/iptables-legacy-save.txt" -- iptables-legacy-save -c
		else
			skip "$n/iptables-legacy-save.txt" "iptables-legacy-save -c" "ip_tables not loaded: no legacy rules"
		fi
		if module_ready nf_tables; then
			run "$n/iptables-nft-save.txt" -- iptables-nft-save -c
		else
			skip "$n/iptables-nft-save.txt" "iptables-nft-save -c" "nf_tables not loaded: no nft rules"
		fi
	fi
	if ! have ip6tables-save; then
		run "$n/ip6tables-save.txt" -- ip6tables-save -c
	elif tables_ready ip6tables-save /proc/net/ip6_tables_names; then
		run "$n/ip6tables-save.txt" -- ip6tables-save -c
	else
		skip "$n/ip6tables-save.txt" "ip6tables-save -c" "its tables module is not loaded: no rules (reading would load it)"
	fi
	if module_ready nf_tables; then
		run "$n/nft-ruleset.json" -- nft -j list ruleset
	else
		skip "$n/nft-ruleset.json" "nft -j list ruleset" "nf_tables not loaded"
	fi
}

kube_proxy_info() {
	local n="nodes/$NODE_NAME" me pid="" p mode="" src="" cmd="" cfg="" text
	me=$(readlink /proc/self/ns/net 2>/dev/null)
	# kube-proxy runs in the host network namespace: pick the process that
	# shares ours, so the answer belongs to this node.
	for p in $(pgrep -x kube-proxy 2>/dev/null); do
		if [ "$(readlink "/proc/$p/ns/net" 2>/dev/null)" = "$me" ]; then pid=$p; break; fi
	done
	if [ -z "$pid" ]; then
		text="# kube-proxy as seen from node $NODE_NAME
found: false
why: no kube-proxy process in this network namespace"
		note "$n/kube-proxy.txt" "pgrep -x kube-proxy; cat /proc/PID/cmdline" "$text"
		return
	fi
	cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | head -c 8192)
	mode=$(printf '%s\n' "$cmd" | grep -oE -- '--proxy-mode[= ][a-z]+' | head -n1 | sed -E 's/--proxy-mode[= ]//')
	[ -n "$mode" ] && src="flag --proxy-mode"
	cfg=$(printf '%s\n' "$cmd" | grep -oE -- '--config[= ][^ ]+' | head -n1 | sed -E 's/--config[= ]//')
	local cfgtext=""
	if [ -n "$cfg" ] && [ -f "/proc/$pid/root$cfg" ]; then
		cfgtext=$(head -c 65536 "/proc/$pid/root$cfg")
		if [ -z "$mode" ]; then
			mode=$(printf '%s\n' "$cfgtext" | sed -nE 's/^mode:[ "]*([a-z]*).*/\1/p' | head -n1)
			[ -n "$mode" ] && src="config $cfg"
		fi
	fi
	# kube-proxy takes its mode from the flag or the config file only; with
	# neither it runs its default. No request to 127.0.0.1:10249: it would
	# add nothing and could reach another listener.
	if [ -z "$mode" ]; then mode=iptables; src="default (no --proxy-mode or config mode)"; fi
	text="# kube-proxy as seen from node $NODE_NAME
found: true
pid: $pid
mode: $mode
mode_source: $src
cmdline: $cmd"
	[ -n "$cfgtext" ] && text="$text
config: $cfg
--- config
$cfgtext"
	note "$n/kube-proxy.txt" "cat /proc/$pid/cmdline; kube-proxy --config file" "$text"
}

collect_node() {
	local n="nodes/$NODE_NAME"
	iptables_backends
	if kernel_has /proc/net/ip_vs; then
		run "$n/ipvsadm.txt" -- ipvsadm -Sn
		run "$n/ipvsadm-stats.txt" -- ipvsadm -Ln --stats --exact
	else
		# ipvsadm would autoload ip_vs: never run it without /proc/net/ip_vs.
		skip "$n/ipvsadm.txt" "ipvsadm -Sn" "ipvs not available: /proc/net/ip_vs absent"
		skip "$n/ipvsadm-stats.txt" "ipvsadm -Ln --stats --exact" "ipvs not available: /proc/net/ip_vs absent"
	fi
	if module_ready ip_set; then
		run "$n/ipset.txt" -- ipset save
	else
		skip "$n/ipset.txt" "ipset save" "ip_set not loaded: no ipsets"
	fi
	run "$n/ip-addr.json" -- ip -j addr show
	run "$n/ip-link.json" -- ip -j -d link show
	run "$n/ip-route.json" -- ip -j route show table all
	run "$n/ip-rule.json" -- ip -j rule show
	run "$n/ip-neigh.json" -- ip -j neigh show
	run "$n/sysctl.txt" -- sysctl --pattern '^net\.' -a
	# conntrack talks ctnetlink: nf_conntrack_netlink is autoloaded by the
	# request unless it is there already.
	if ! kernel_has /proc/net/nf_conntrack && ! kernel_has /proc/sys/net/netfilter/nf_conntrack_count; then
		skip "$n/conntrack-stats.txt" "conntrack -S" "nf_conntrack not loaded"
		skip "$n/conntrack.txt" "conntrack -L" "nf_conntrack not loaded"
	elif ! module_ready nf_conntrack_netlink; then
		skip "$n/conntrack-stats.txt" "conntrack -S" "nf_conntrack_netlink not loaded (conntrack would load it)"
		skip "$n/conntrack.txt" "conntrack -L" "nf_conntrack_netlink not loaded (conntrack would load it)"
	else
		run "$n/conntrack-stats.txt" -- conntrack -S
		run "$n/conntrack.txt" --lines "$CONNTRACK_LINES" -- conntrack -L
	fi
	run "$n/resolv.conf" -- cat /etc/resolv.conf
	# ss asks sock_diag, which autoloads inet_diag/tcp_diag/udp_diag; with
	# PROC_ROOT set it reads /proc/net/{tcp,udp}* instead (iproute2 ss.c).
	if ! have ss || { module_ready inet_diag && module_ready tcp_diag && module_ready udp_diag; }; then
		run "$n/ss.txt" -- ss -tunapH
	else
		run "$n/ss.txt" -- env PROC_ROOT=/proc ss -tunapH
	fi
	local f k=0
	if [ -d /etc/cni/net.d ]; then
		for f in /etc/cni/net.d/*; do
			[ -f "$f" ] || continue
			k=$((k + 1))
			[ "$k" -gt 50 ] && break
			run "$n/cni/$(safe_name "$(basename "$f")")" --redact -- cat "$f"
		done
	else
		skip "$n/cni/" "ls /etc/cni/net.d" "/etc/cni/net.d absent"
	fi
	kube_proxy_info
}

# ---------------------------------------------------------------- captures
# json_flat: JSON on stdin (a value per line at most, as crictl prints it:
# tokens never span lines) → one "PATH<TAB>VALUE" line per scalar, PATH
# the keys/indexes joined by \034 (keys may hold dots and slashes).
# Strings keep their JSON escapes.
json_flat() {
	awk '
	function path(   i, p) { p = ""; for (i = 1; i <= d; i++) p = p (i > 1 ? "\034" : "") key[i]; return p }
	{
		s = $0
		while (s != "") {
			if (match(s, /^[ \t\r]+/)) { s = substr(s, RLENGTH + 1); continue }
			c = substr(s, 1, 1)
			if (c == "{") { d++; typ[d] = "o"; key[d] = ""; wantkey[d] = 1; s = substr(s, 2); continue }
			if (c == "[") { d++; typ[d] = "a"; key[d] = 0; s = substr(s, 2); continue }
			if (c == "}" || c == "]") { if (d > 0) d--; s = substr(s, 2); continue }
			if (c == ",") { if (typ[d] == "a") key[d]++; else wantkey[d] = 1; s = substr(s, 2); continue }
			if (c == ":") { wantkey[d] = 0; s = substr(s, 2); continue }
			if (c == "\"") {
				if (!match(s, /^"([^"\\]|\\.)*"/)) exit 1
				tok = substr(s, 2, RLENGTH - 2); s = substr(s, RLENGTH + 1)
				if (typ[d] == "o" && wantkey[d]) { key[d] = tok; continue }
				print path() "\t" tok
				continue
			}
			if (!match(s, /^[^ \t\r,:}\]]+/)) exit 1
			print path() "\t" substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
		}
	}'
}

# pod_pid NS/NAME: the PID of the pod's sandbox, for nsenter. crictl: the
# sandbox whose name and namespace are exactly NS/NAME and whose state is
# SANDBOX_READY (`crictl pods --name` is an unanchored regex: web-1 would
# match web-10), newest first, then `crictl inspectp` for its pid. docker:
# the running container with the exact pod labels.
pod_pid() {
	local ns=${1%%/*} name=${1#*/} id pid
	if have crictl; then
		id=$(crictl pods -o json 2>/dev/null | json_flat | awk -F '\t' -v ns="$ns" -v name="$name" '
			{
				n = split($1, p, "\034")
				if (p[1] != "items" || n < 3) next
				f = p[3]; for (j = 4; j <= n; j++) f = f "/" p[j]
				v[p[2], f] = $2; items[p[2]] = 1
			}
			END {
				for (i in items)
					if (v[i, "metadata/name"] == name && v[i, "metadata/namespace"] == ns && v[i, "state"] == "SANDBOX_READY" &&
						(best == "" || v[i, "createdAt"] > v[best, "createdAt"])) best = i
				if (best != "") print v[best, "id"]
			}')
		if [ -n "$id" ]; then
			pid=$(crictl inspectp -o json "$id" 2>/dev/null | json_flat | awk -F '\t' '$1 == "info\034pid" { print $2; exit }')
			case $pid in "" | 0 | *[!0-9]*) ;; *) echo "$pid"; return 0 ;; esac
		fi
	fi
	if have docker; then
		id=$(docker ps -q --filter status=running --filter "label=io.kubernetes.pod.namespace=$ns" --filter "label=io.kubernetes.pod.name=$name" 2>/dev/null | head -n1)
		if [ -n "$id" ]; then
			pid=$(docker inspect -f '{{.State.Pid}}' "$id" 2>/dev/null)
			case $pid in "" | 0 | *[!0-9]*) ;; *) echo "$pid"; return 0 ;; esac
		fi
	fi
	return 1
}

CAP_PIDS=()
CAP_READY=15 # seconds a tcpdump may take to start listening (a loaded node)
# capture NAME IFACE POD PREFIX...: start one bounded tcpdump in the
# background; wait_captures starts the --seconds window once every tcpdump
# listens, finish_captures writes the metadata.
# --immediate-mode: without it libpcap hands packets to tcpdump only when a
# ring block fills or its 1 s timer fires, and the SIGINT that ends the
# window drops what is still in the ring: the last second of a capture (all
# of a quiet one) was lost. tcpdump before 4.6 lacks the option.
CAP_IMM="unset"
capture() {
	local name=$1 iface=$2 pod=$3
	shift 3
	if [ "$CAP_IMM" = unset ]; then
		CAP_IMM=""
		tcpdump --help 2>&1 | grep -q -- --immediate-mode && CAP_IMM=" --immediate-mode"
	fi
	local dir="$ROOT/captures/$NODE_NAME" filter=""
	mkdir -p "$dir"
	# validated in main: one address (host) or one CIDR (net)
	case $CAP_HOST in
	*/*) filter="net $CAP_HOST" ;;
	?*) filter="host $CAP_HOST" ;;
	esac
	[ -n "$CAP_PORT" ] && filter="${filter:+$filter and }port $CAP_PORT"
	# ICMP errors about the flow (port/host unreachable from a REJECT or a
	# router) come from other addresses: keep them too.
	filter="($filter) or icmp"
	# The window is timed from the moment tcpdump listens (wait_captures
	# sends SIGINT through the pid file); timeout only bounds a tcpdump that
	# never starts listening. The prefix (ip netns exec / nsenter) execs,
	# so the pid written by the shim is timeout's, which forwards SIGINT.
	# -p: no promiscuous mode (the capture must not change the NIC's state).
	# shellcheck disable=SC2086,SC2016 # the filter is tcpdump's own expression; $$ is the shim's
	(
		s=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
		"$@" sh -c 'echo $$ >"$0"; exec "$@"' "$WORK/cap-$name.pid" \
			timeout -s INT "$((CAP_SECONDS + CAP_READY))" tcpdump -p -i "$iface" -n -U$CAP_IMM -c "$CAP_PACKETS" -w - $filter 2>"$WORK/cap-$name.err" |
			head -c "$CAP_BYTES" >"$dir/$name.pcap"
		rc=${PIPESTATUS[0]}
		e=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)
		printf '%s\n%s\n%s\n' "$s" "$e" "$rc" >"$WORK/cap-$name.times"
	) &
	CAP_PIDS+=($!)
	# fields split by \037: empty fields survive (tabs would merge)
	printf '%s\037%s\037%s\037%s\037%s\n' "$name" "$iface" "$pod" "$filter" "$*" >>"$WORK/caps"
}

# wait_captures: wait (at most CAP_READY s) until every tcpdump listens or
# has ended, tell the customer to reproduce now, let the window run, then
# stop each tcpdump with SIGINT (it prints its counters then).
wait_captures() {
	[ ${#CAP_PIDS[@]} -gt 0 ] || return 0
	local name rest waiting end=$((SECONDS + CAP_READY))
	while :; do
		waiting=""
		while IFS=$'\037' read -r name rest; do
			[ -e "$WORK/cap-$name.times" ] && continue
			grep -q 'listening on' "$WORK/cap-$name.err" 2>/dev/null && continue
			waiting="$waiting $name"
		done <"$WORK/caps"
		[ -z "$waiting" ] && break
		if [ "$SECONDS" -ge "$end" ]; then
			log "capture(s)$waiting not listening after ${CAP_READY}s; capturing anyway"
			break
		fi
		sleep 0.1
	done
	log "captures listening: reproduce the failure now (${CAP_SECONDS}s)"
	sleep "$CAP_SECONDS" # not a wait: the capture window the user asked for (--seconds)
	while IFS=$'\037' read -r name rest; do
		[ -e "$WORK/cap-$name.times" ] && continue
		[ -s "$WORK/cap-$name.pid" ] && kill -INT "$(cat "$WORK/cap-$name.pid")" 2>/dev/null
	done <"$WORK/caps"
}

start_captures() {
	[ -n "$CAP_HOST$CAP_PORT" ] || return 0
	if ! have tcpdump; then
		skip "captures/$NODE_NAME/" "tcpdump" "tcpdump not found"
		return 0
	fi
	: >"$WORK/caps"
	capture "node-$(safe_name "$CAP_IFACE")" "$CAP_IFACE" ""
	if [ -n "$CAP_NETNS" ]; then
		capture "pod-$(safe_name "${CAP_POD:-$CAP_NETNS}")" eth0 "$CAP_POD" ip netns exec "$CAP_NETNS"
	elif [ -n "$CAP_POD" ]; then
		local pid
		if pid=$(pod_pid "$CAP_POD") && have nsenter; then
			capture "pod-$(safe_name "${CAP_POD//\//_}")" eth0 "$CAP_POD" nsenter -n -t "$pid"
		else
			skip "captures/$NODE_NAME/pod-$(safe_name "${CAP_POD//\//_}").pcap" "crictl pods/inspectp, docker inspect $CAP_POD" "no ready sandbox named exactly $CAP_POD (crictl and docker tried) or nsenter missing"
		fi
	fi
}

finish_captures() {
	[ ${#CAP_PIDS[@]} -gt 0 ] || return 0
	wait "${CAP_PIDS[@]}" 2>/dev/null
	local name iface pod filter prefix dir="captures/$NODE_NAME"
	while IFS=$'\037' read -r name iface pod filter prefix; do
		local s e rc err got rcvd drop bytes
		{ read -r s; read -r e; read -r rc; } <"$WORK/cap-$name.times"
		err=$(cat "$WORK/cap-$name.err" 2>/dev/null)
		got=$(printf '%s\n' "$err" | sed -nE 's/^([0-9]+) packets? captured.*/\1/p' | tail -n1)
		rcvd=$(printf '%s\n' "$err" | sed -nE 's/^([0-9]+) packets? received by filter.*/\1/p' | tail -n1)
		drop=$(printf '%s\n' "$err" | sed -nE 's/^([0-9]+) packets? dropped by kernel.*/\1/p' | tail -n1)
		bytes=$(wc -c <"$ROOT/$dir/$name.pcap")
		{
			printf '{"node":%s,"interface":%s,"pod":%s,"netns":%s,"filter":%s,' "$(json_str "$NODE_NAME")" "$(json_str "$iface")" \
				"$(json_str "$pod")" "$(json_str "$prefix")" "$(json_str "$filter")"
			printf '"start":"%s","stop":"%s","seconds":%d,"max_packets":%d,"max_bytes":%d,' "$s" "$e" "$CAP_SECONDS" "$CAP_PACKETS" "$CAP_BYTES"
			printf '"packets_captured":%d,"packets_received":%d,"packets_dropped_by_kernel":%d,"truncated":%s,"command":%s}\n' \
				"${got:-0}" "${rcvd:-0}" "${drop:-0}" "$([ "$bytes" -ge "$CAP_BYTES" ] && echo true || echo false)" \
				"$(json_str "${prefix:+$prefix }tcpdump -p -i $iface -n -U$CAP_IMM -c $CAP_PACKETS -w - $filter")"
		} >"$ROOT/$dir/$name.json"
		# tcpdump ends by SIGINT from timeout: that is the normal stop.
		[ "$rc" = 124 ] && rc=0
		record "$dir/$name.pcap" "${prefix:+$prefix }tcpdump -p -i $iface -n -U$CAP_IMM -c $CAP_PACKETS -w - $filter" "$rc" 0 "$bytes" \
			"$([ "$bytes" -ge "$CAP_BYTES" ] && echo true || echo false)" "$(printf '%s' "$err" | tail -c 400)" ""
		record "$dir/$name.json" "capture metadata" 0 0 "$(wc -c <"$ROOT/$dir/$name.json")" false "" ""
	done <"$WORK/caps"
}

# ---------------------------------------------------------------- cluster mode
kget() { # kget FILE ARGS...: kubectl get ... -o yaml, redacted
	local f=$1
	shift
	run "cluster/$f" --redact -- "${KUBECTL[@]}" get "$@" -o yaml
}

collect_kube() {
	if ! have kubectl; then
		skip "cluster/" "kubectl" "kubectl not found"
		return
	fi
	run cluster/version.json -- "${KUBECTL[@]}" version -o json
	kget nodes.yaml nodes
	kget pods.yaml pods -A
	kget services.yaml services -A
	kget endpoints.yaml endpoints -A
	kget endpointslices.yaml endpointslices.discovery.k8s.io -A
	kget ingresses.yaml ingresses.networking.k8s.io -A
	kget networkpolicies.yaml networkpolicies.networking.k8s.io -A
	# NetworkPolicy namespaceSelector matches namespace labels; an Ingress
	# without a controller for its class never gets a CLB.
	kget namespaces.yaml namespaces
	kget ingressclasses.yaml ingressclasses.networking.k8s.io
	# Only the configmaps the analysis needs, never Secrets.
	kget configmaps-kube-system.yaml configmaps -n kube-system --ignore-not-found \
		ip-masq-agent-config coredns kube-dns kube-proxy
	kget daemonsets-kube-system.yaml daemonsets -n kube-system
	run cluster/events.yaml --redact --lines 20000 -- "${KUBECTL[@]}" get events -A -o yaml
}

TCCLI_BROKEN=""
# tc PATH SERVICE ACTION ARGS...: one tccli call, skipped with the reason
# when tccli, the cluster id/region or credentials are missing.
tc() {
	local path=$1
	shift
	if [ -n "$TCCLI_BROKEN" ]; then
		skip "cloud/$path" "tccli $*" "$TCCLI_BROKEN"
		return 1
	fi
	run "cloud/$path" --redact -- tccli "$@" --region "$REGION"
	local rc
	rc=$(tail -n1 "$WORK/records" | sed -nE 's/.*"exit_code":(-?[0-9]+).*/\1/p')
	if [ "$rc" != 0 ]; then
		if grep -qiE 'AuthFailure|secretId|credential|InvalidCredential|not configured' "$WORK/stderr" "$ROOT/cloud/$path" 2>/dev/null; then
			TCCLI_BROKEN="tccli credentials missing or rejected (see earlier record)"
		fi
		return 1
	fi
	return 0
}

ids() { # ids PATTERN FILES...: unique ids like ins-xxxxxxxx in the files
	local pat=$1
	shift
	cat "$@" 2>/dev/null | grep -oE "\"?$pat\"?" | tr -d '"' | sort -u
}

ids_ordered() { # ids_ordered PATTERN FILES...: like ids, in file order (first seen first)
	local pat=$1
	shift
	cat "$@" 2>/dev/null | grep -oE "\"?$pat\"?" | tr -d '"' | awk '!seen[$0]++'
}

json_list() { # json_list A B C -> ["A","B","C"]
	local s="" x
	for x in "$@"; do s="$s${s:+,}\"$x\""; done
	printf '[%s]' "$s"
}

collect_cloud() {
	local c="$ROOT/cloud"
	if [ -z "$CLUSTER_ID" ]; then
		skip "cloud/" "tccli" "no --cluster-id (or TKE_CLUSTER_ID) given: cloud state not collected"
		return
	fi
	if ! have tccli; then
		skip "cloud/" "tccli" "tccli not found: security groups, CVM, CLB and VPC routes not collected"
		return
	fi
	if [ -z "$REGION" ]; then
		skip "cloud/" "tccli" "no --region (or TENCENTCLOUD_REGION) given: cloud state not collected"
		return
	fi
	tc clusters.json tke DescribeClusters --ClusterIds "$(json_list "$CLUSTER_ID")" || true
	CLUSTER_TYPE=$(sed -nE 's/.*"ClusterType": *"([A-Z_]+)".*/\1/p' "$c/clusters.json" 2>/dev/null | head -n1)
	tc cluster-instances.json tke DescribeClusterInstances --ClusterId "$CLUSTER_ID" --Limit 100 || true
	# STANDARD or LEGACY: on a traditional (LEGACY) account a public CLB
	# without bandwidth of its own uses its real servers' public bandwidth.
	tc network-account-type.json vpc DescribeNetworkAccountType || true
	tc cluster-endpoints.json tke DescribeClusterEndpoints --ClusterId "$CLUSTER_ID" || true
	# Created / Creating / NotFound / CreateFailed (+ ErrorMsg) of the
	# intranet endpoint (IsExtranet defaults to FALSE: API doc tke 2018-05-25
	# DescribeClusterEndpointStatus).
	tc cluster-endpoint-status.json tke DescribeClusterEndpointStatus --ClusterId "$CLUSTER_ID" || true
	tc cluster-security.json tke DescribeClusterSecurity --ClusterId "$CLUSTER_ID" || true
	# Instances: from the cluster and from the nodes' providerID (qcloud:///zone/ins-x).
	local ins
	ins=$(ids 'ins-[a-z0-9]{8}' "$c/cluster-instances.json" "$ROOT/cluster/nodes.yaml")
	# shellcheck disable=SC2086 # word splitting of id lists is intended
	if [ -n "$ins" ]; then
		tc instances.json cvm DescribeInstances --InstanceIds "$(json_list $ins)" --Limit 100 || true
	else
		skip cloud/instances.json "tccli cvm DescribeInstances" "${TCCLI_BROKEN:-no instance ids found in cluster-instances.json or node providerIDs}"
	fi
	# CLBs of LoadBalancer Services and Ingresses: ids from annotations, VIPs from status.
	# At most 100 (DescribeLoadBalancers returns 20 by default, 100 at most):
	# each CLB costs 3 more calls, and the run must stay bounded.
	local lbs nlb
	lbs=$(ids 'lb-[a-z0-9]{8}' "$ROOT/cluster/services.yaml" "$ROOT/cluster/ingresses.yaml")
	nlb=$(printf '%s\n' "$lbs" | grep -c .)
	if [ "$nlb" -gt 100 ]; then
		skip cloud/listeners/ "tccli clb DescribeListeners" "$((nlb - 100)) more CLBs referenced: only the first 100 were described"
		lbs=$(printf '%s\n' "$lbs" | head -n 100)
	fi
	if [ -n "$lbs" ]; then
		# shellcheck disable=SC2086
		tc load-balancers.json clb DescribeLoadBalancers --LoadBalancerIds "$(json_list $lbs)" --Limit 100 || true
		local lb
		for lb in $lbs; do
			tc "listeners/$lb.json" clb DescribeListeners --LoadBalancerId "$lb" || true
			tc "targets/$lb.json" clb DescribeTargets --LoadBalancerId "$lb" || true
			tc "target-health/$lb.json" clb DescribeTargetHealth --LoadBalancerIds "$(json_list "$lb")" || true
		done
	else
		skip cloud/load-balancers.json "tccli clb DescribeLoadBalancers" "${TCCLI_BROKEN:-no CLB id in Service/Ingress annotations or status}"
	fi
	local vpc
	vpc=$(ids 'vpc-[a-z0-9]{8}' "$c/clusters.json" "$c/instances.json" | head -n1)
	if [ -n "$vpc" ]; then
		local flt
		flt="[{\"Name\":\"vpc-id\",\"Values\":[\"$vpc\"]}]"
		tc vpcs.json vpc DescribeVpcs --VpcIds "$(json_list "$vpc")" || true
		tc subnets.json vpc DescribeSubnets --Filters "$flt" --Limit 100 || true
		tc route-tables.json vpc DescribeRouteTables --Filters "$flt" --Limit 100 || true
		tc network-interfaces.json vpc DescribeNetworkInterfaces --Filters "$flt" --Limit 100 || true
		# global-router clusters keep pod CIDR routes in a route table named after the cluster
		tc cluster-routes.json tke DescribeClusterRoutes --RouteTableName "$CLUSTER_ID" || true
		local ccn first=1
		for ccn in $(ids 'ccn-[a-z0-9]{8}' "$c/route-tables.json" "$c/vpcs.json"); do
			if [ "$first" = 1 ]; then
				tc ccn-routes.json vpc DescribeCcnRoutes --CcnId "$ccn" --Limit 100 || true
				first=0
			else
				tc "ccn-routes/$ccn.json" vpc DescribeCcnRoutes --CcnId "$ccn" --Limit 100 || true
			fi
		done
	else
		skip cloud/vpcs.json "tccli vpc DescribeVpcs" "${TCCLI_BROKEN:-no VPC id found in clusters.json or instances.json}"
	fi
	# Security groups, in one call, then each one's policies: the nodes',
	# the CLBs', the API server endpoint's (cluster-endpoints.json
	# SecurityGroup) and the ENIs' (VPC-CNI pods and CLB backends use ENIs).
	# DescribeSecurityGroups takes at most 100 ids (Limit max 100), which
	# also bounds the per-SG calls: the first sources win.
	local sgs="" sg n=0 dropped=0
	for sg in $(ids_ordered 'sg-[a-z0-9]{8}' "$c/instances.json" "$c/load-balancers.json" "$c/clusters.json" \
		"$c/cluster-security.json" "$c/cluster-endpoints.json" "$c/network-interfaces.json"); do
		if [ "$n" -ge 100 ]; then dropped=$((dropped + 1)); continue; fi
		sgs="$sgs $sg"
		n=$((n + 1))
	done
	if [ -n "$sgs" ]; then
		# shellcheck disable=SC2086
		tc security-groups.json vpc DescribeSecurityGroups --SecurityGroupIds "$(json_list $sgs)" --Limit 100 || true
		for sg in $sgs; do
			tc "security-group-policies/$sg.json" vpc DescribeSecurityGroupPolicies --SecurityGroupId "$sg" || true
		done
		[ "$dropped" -gt 0 ] && skip cloud/security-group-policies/ "tccli vpc DescribeSecurityGroupPolicies" \
			"$dropped more security groups referenced (ENIs): only the first 100 were described"
	else
		skip cloud/security-groups.json "tccli vpc DescribeSecurityGroups" "${TCCLI_BROKEN:-no security group ids found}"
	fi
	# Templates are fetched only when a policy refers to one.
	if [ -d "$c/security-group-policies" ] && grep -qE '"(ipm|ipmg|ppm|ppmg)-[a-z0-9]{8}"' "$c/security-group-policies"/*.json 2>/dev/null; then
		tc address-templates.json vpc DescribeAddressTemplates || true
		tc address-template-groups.json vpc DescribeAddressTemplateGroups || true
		tc service-templates.json vpc DescribeServiceTemplates || true
		tc service-template-groups.json vpc DescribeServiceTemplateGroups || true
	fi
}

# ---------------------------------------------------------------- merge
# The analyzer's bounds (parsers/bundle DefaultLimits): one text file, one
# capture; all files together and entries (--max-total-bytes,
# --max-entries, as the analyzer's flags) bound the merged bundle, all
# inputs together, so the analyzer reads all of it.
MERGE_FILE=$((64 << 20))
MERGE_PCAP=$((1 << 30))
MERGE_USED=0
MERGE_USED_ENTRIES=0

# merge_check_listing NAME: read `tar -tv` lines on stdin and refuse
# anything but regular files and folders, and any bound exceeded (with
# the inputs merged before); on success print its bytes and entries.
merge_check_listing() {
	awk -v total="$MERGE_TOTAL" -v used="$MERGE_USED" -v file="$MERGE_FILE" -v pcap="$MERGE_PCAP" \
		-v entries="$MERGE_ENTRIES" -v eused="$MERGE_USED_ENTRIES" -v src="$1" '
	{
		n++
		t = substr($1, 1, 1)
		if (t != "-" && t != "d") { print src ": holds a link or special file, refused: " $0; bad = 1; exit }
		sz = $3 + 0
		sum += sz
		lim = ($0 ~ /\.pcap(ng)?$/) ? pcap : file
		if (sz > lim) { print src ": a file is larger than " lim " bytes: " $0; bad = 1; exit }
		if (used + sum > total) { print src ": the merged bundle would exceed " total " bytes (--max-total-bytes)"; bad = 1; exit }
		if (eused + n > entries) { print src ": the merged bundle would hold more than " entries " entries (--max-entries)"; bad = 1; exit }
	}
	END { if (!bad) print sum + 0, n + 0; exit bad }'
}

# merge_input IN DIR: unpack (archive) or copy (folder) one input into DIR,
# refusing links (an input folder that is a link, a link inside it or in
# the archive) and what exceeds the analyzer's bounds. The archive stream
# itself is cut at the bound, so a gzip bomb costs no disk.
merge_input() {
	local f=$1 tmp=$2 msg got sz ents cap=$((MERGE_TOTAL - MERGE_USED + (MERGE_ENTRIES - MERGE_USED_ENTRIES) * 1024 + (1 << 20)))
	[ -L "$f" ] && die "$f is a symbolic link: give the bundle itself"
	if [ -d "$f" ]; then
		msg=$(find "$f" -mindepth 1 ! -type f ! -type d -print -quit)
		[ -n "$msg" ] && die "$f: holds a link or special file, refused: $msg"
		got=$(find "$f" -mindepth 1 -printf '%y %s %p\n' | awk '{ t = $1; n = $2; $1 = ""; $2 = ""; printf "%s x %s%s\n", (t == "d" ? "d" : "-"), n, $0 }' | merge_check_listing "$f") ||
			die "$got"
		cp -R "$f/." "$tmp/"
	else
		[ -f "$f" ] || die "$f: not a file or folder"
		# shellcheck disable=SC2094 # both readers only read $f
		got=$(gzip -dc <"$f" | head -c "$cap" | tar -tvf - 2>&1 | merge_check_listing "$f") || die "$got"
		gzip -dc <"$f" | head -c "$cap" | tar -C "$tmp" -xf - --no-same-owner --no-same-permissions ||
			die "cannot unpack $f (damaged, truncated or larger than $MERGE_TOTAL bytes)"
		msg=$(find "$tmp" -mindepth 1 ! -type f ! -type d -print -quit)
		[ -z "$msg" ] || die "$f: holds a link or special file, refused"
	fi
	read -r sz ents <<<"$got"
	MERGE_USED=$((MERGE_USED + sz))
	MERGE_USED_ENTRIES=$((MERGE_USED_ENTRIES + ents))
}

merge() {
	local name tmp rec="$WORK/records" f top
	name="tkesnap-bundle-$(stamp)"
	ROOT="$WORK/$name"
	mkdir -p "$ROOT"
	: >"$rec"
	for f in "${MERGE_INPUTS[@]}"; do
		tmp=$(mktemp -d "$WORK/in.XXXXXX")
		merge_input "$f" "$tmp"
		# one top-level folder is allowed
		top=$tmp
		if [ ! -f "$tmp/manifest.json" ] && [ "$(find "$tmp" -mindepth 1 -maxdepth 1 | wc -l)" = 1 ]; then
			top=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d)
		fi
		if [ -z "$top" ] || [ -L "$top" ] || [ ! -f "$top/manifest.json" ]; then die "$f: no manifest.json"; fi
		grep -E '^\{"path":' "$top/manifest.json" | sed 's/,$//' >>"$rec"
		local id typ reg
		id=$(sed -nE 's/^"cluster": \{"id": "([^"]*)".*/\1/p' "$top/manifest.json")
		typ=$(sed -nE 's/^"cluster": .*"type": "([^"]*)".*/\1/p' "$top/manifest.json")
		reg=$(sed -nE 's/^"cluster": .*"region": "([^"]*)".*/\1/p' "$top/manifest.json")
		[ -n "$id" ] && CLUSTER_ID=$id
		[ -n "$typ" ] && CLUSTER_TYPE=$typ
		[ -n "$reg" ] && REGION=$reg
		# only the private copy in $WORK is changed, never the input
		rm -f "$top/manifest.json"
		cp -R "$top/." "$ROOT/"
	done
	write_manifest "$ROOT" "$rec"
	pack "$name"
}

# ---------------------------------------------------------------- main
main() {
	while [ $# -gt 0 ]; do
		case $1 in
		--node) MODE=node ;;
		--cluster) MODE=cluster ;;
		--merge) MODE=merge ;;
		--redact) redact; exit 0 ;;
		-o | --output) OUT=$2; shift ;;
		--node-name) NODE_NAME=$2; shift ;;
		--cluster-id) CLUSTER_ID=$2; shift ;;
		--region) REGION=$2; shift ;;
		--kubeconfig) export KUBECONFIG=$2; shift ;;
		--context) KUBECTL=(kubectl --context "$2"); shift ;;
		--timeout) TIMEOUT=$2; shift ;;
		--max-bytes) MAX_BYTES=$2; shift ;;
		--conntrack-lines) CONNTRACK_LINES=$2; shift ;;
		--capture-host) CAP_HOST=$2; shift ;;
		--capture-port) CAP_PORT=$2; shift ;;
		--seconds) CAP_SECONDS=$2; shift ;;
		--capture-iface) CAP_IFACE=$2; shift ;;
		--capture-packets) CAP_PACKETS=$2; shift ;;
		--capture-bytes) CAP_BYTES=$2; shift ;;
		--pod) CAP_POD=$2; shift ;;
		--pod-netns) CAP_NETNS=$2; shift ;;
		--max-total-bytes) MERGE_TOTAL=$2; shift ;;
		--max-entries) MERGE_ENTRIES=$2; shift ;;
		-h | --help) usage; exit 0 ;;
		-*) die "unknown option $1 (see --help)" ;;
		*)
			[ "$MODE" = merge ] || die "unexpected argument $1"
			MERGE_INPUTS+=("$1")
			;;
		esac
		shift
	done
	[ -n "$MODE" ] || { usage; exit 2; }
	case $CAP_SECONDS$CAP_PACKETS$CAP_BYTES$TIMEOUT$MAX_BYTES$CONNTRACK_LINES$MERGE_TOTAL$MERGE_ENTRIES in
	*[!0-9]*) die "--seconds, --capture-packets, --capture-bytes, --timeout, --max-bytes, --conntrack-lines, --max-total-bytes and --max-entries take whole numbers" ;;
	esac
	# The capture options become tcpdump's filter words: only an address
	# or CIDR and a port number get there, never other words.
	[ -z "$CAP_HOST" ] || valid_host "$CAP_HOST" || die "--capture-host takes one IPv4/IPv6 address or CIDR, not '$CAP_HOST'"
	[ -z "$CAP_PORT" ] || valid_port "$CAP_PORT" || die "--capture-port takes one port number 1-65535, not '$CAP_PORT'"
	case $CAP_IFACE in
	"" | *[!A-Za-z0-9_.:@-]*) die "--capture-iface takes an interface name, not '$CAP_IFACE'" ;;
	esac
	umask 077
	WORK=$(mktemp -d "${TMPDIR:-/tmp}/tkesnap-collect.XXXXXX") || die "cannot create a temp dir"
	trap 'rm -rf "$WORK"' EXIT
	trap 'exit 130' INT TERM
	: >"$WORK/records"
	local name
	case $MODE in
	node)
		[ -n "$NODE_NAME" ] || NODE_NAME=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)
		NODE_NAME=$(safe_name "$NODE_NAME")
		[ "$(id -u)" = 0 ] || log "not root: iptables, conntrack and captures will fail (recorded in manifest.json)"
		name="tkesnap-node-$NODE_NAME-$(stamp)"
		ROOT="$WORK/$name"
		mkdir -p "$ROOT/nodes/$NODE_NAME"
		# Captures first (while the customer reproduces the failure), then
		# the state: conntrack then holds the reproduced flow's entries.
		start_captures
		wait_captures
		finish_captures
		collect_node
		;;
	cluster)
		name="tkesnap-cluster-$(stamp)"
		ROOT="$WORK/$name"
		mkdir -p "$ROOT/cluster"
		collect_kube
		collect_cloud
		;;
	merge)
		[ ${#MERGE_INPUTS[@]} -gt 0 ] || die "--merge needs bundle files"
		merge
		return
		;;
	esac
	write_manifest "$ROOT" "$WORK/records"
	local dest
	dest=$(pack "$name") || die "cannot write the bundle"
	echo "$dest"
	report_failures "$dest"
	# Exit 0 whenever a bundle was written, even an incomplete one (the
	# list above and the manifest say what is missing); 3 when cluster
	# mode could collect nothing at all (no kubectl call and no tccli call
	# succeeded), the partial bundle being kept for reference.
	if [ "$MODE" = cluster ] && ! collected_any; then
		local why="every kubectl call failed (is the API server reachable from here? check --kubeconfig/--context)"
		have kubectl || why="kubectl is not installed here"
		log "nothing could be collected: $why, and no tccli call succeeded; partial bundle kept at $dest"
		exit 3
	fi
}

if [ "${TKESNAP_COLLECT_SOURCE_ONLY:-}" != 1 ]; then
	main "$@"
fi
