package collector

import (
	"bufio"
	"bytes"
	"io"
	"regexp"
	"strings"
	"sync"
)

// The redaction rules of tkesnap-collect.sh's redact(), line for line, so
// the Go node collector writes byte-identical files. POSIX (leftmost-
// longest) regexps match awk's semantics.
//
// sens is a key that names a credential: ...token..., ...password...,
// ...secret..., api/access/private key, client-key-data, credentials — or
// one that ends in pass/pwd (DB_PASS, MYSQL_PWD, "pass"). Keys may hold
// dots, dashes and slashes (annotation keys: example.com/api-token).
const sens = `([A-Za-z0-9_./-]*([Tt][Oo][Kk][Ee][Nn]|[Pp][Aa][Ss][Ss][Ww][Oo]?[Rr][Dd]|[Ss][Ee][Cc][Rr][Ee][Tt]|[Aa][Pp][Ii][_-]?[Kk][Ee][Yy]|[Aa][Cc][Cc][Ee][Ss][Ss][_-]?[Kk][Ee][Yy]|[Pp][Rr][Ii][Vv][Aa][Tt][Ee][_-]?[Kk][Ee][Yy]|[Cc][Ll][Ii][Ee][Nn][Tt]-[Kk][Ee][Yy]-[Dd][Aa][Tt][Aa]|[Cc][Rr][Ee][Dd][Ee][Nn][Tt][Ii][Aa][Ll][Ss]?)[A-Za-z0-9_.-]*|[A-Za-z0-9_./-]*([Pp][Aa][Ss][Ss]|[Pp][Ww][Dd]))`

// q is a quote, maybe escaped inside a JSON string.
const q = `\\?"`

const blockOpen = "[ \t]*:[ \t]*[|>][-+0-9]*[ \t]*$"

// re is a POSIX regexp compiled on first use: the collector's ~40 would
// otherwise be compiled at the start of every tkesnap command.
func re(s string) *lazyRE { return &lazyRE{src: s} }

type lazyRE struct {
	once sync.Once
	src  string
	re   *regexp.Regexp
}

func (l *lazyRE) get() *regexp.Regexp {
	l.once.Do(func() { l.re = regexp.MustCompilePOSIX(l.src) })
	return l.re
}

func (l *lazyRE) MatchString(s string) bool      { return l.get().MatchString(s) }
func (l *lazyRE) FindString(s string) string     { return l.get().FindString(s) }
func (l *lazyRE) FindStringIndex(s string) []int { return l.get().FindStringIndex(s) }
func (l *lazyRE) ReplaceAllLiteralString(s, r string) string {
	return l.get().ReplaceAllLiteralString(s, r)
}

var (
	rePemBegin    = re(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)
	rePemEnd      = re(`-----END [A-Z ]*PRIVATE KEY-----`)
	reIndent      = re("^ *")
	rePemRestNone = re("^[ \t\"]*$")
	reValueLine   = re("^[ \t-]*value:")
	reValueBlock  = re("^[ \t-]*value" + blockOpen)
	reValue       = re(`value:.*`)
	reEnvName     = re("^[ \t-]*name:[ \t]*\"?" + sens + "\"?[ \t]*$")
	reListElem    = re("^[ \t]*-[ \t]+[^ \t]")
	reListValue   = re("-[ \t]+.*")
	reFlagElem    = re("^[ \t]*-[ \t]+[\"']?--" + sens + "[\"']?[ \t]*$")
	reAuthPre     = re("[Aa][Uu][Tt][Hh][Oo][Rr][Ii][Zz][Aa][Tt][Ii][Oo][Nn]" + q + "?[ \t]*[:=][ \t]*" + q + "?[ \t]*[A-Za-z]+[ \t]+")
	reXAuthPre    = re("[Xx]-[Aa][Uu][Tt][Hh]-[Tt][Oo][Kk][Ee][Nn]" + q + "?[ \t]*[:=][ \t]*" + q + "?[ \t]*")
	reHeaderPost  = re("[ \t\"'\\\\,]|$")
	reBearer      = re("[Bb][Ee][Aa][Rr][Ee][Rr][ \t]+[A-Za-z0-9._~+/=-]+")
	reJWT         = re(`eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
	reAKID        = re(`AKID[A-Za-z0-9]{10,}`)
	reUserinfo    = re("[A-Za-z][A-Za-z0-9+.-]*://[^/:@ \t\"'\\\\]*:[^/@ \t\"'\\\\]*@")
	reJSONPre     = re(`(\\?")` + sens + q + "[ \t]*:[ \t]*" + q)
	reQuote       = re(q)
	reEnvPairPre  = re(q + "name" + q + "[ \t]*:[ \t]*" + q + sens + q + "[ \t]*,[ \t]*" + q + "value" + q + "[ \t]*:[ \t]*" + q)
	reFlagPairPre = re(q + "--" + sens + q + "[ \t]*,[ \t]*" + q)
	reEmbPre      = re(`\\n[ 	-]*` + sens + "[ \t]*:[ \t]*")
	reEmbPost     = re(`\\|"`)
	reYAML        = re("^[ \t-]*" + sens + "[ \t]*:[ \t]+[^ \t{[|>]")
	reYAMLKey     = re(":[ \t]+.*")
	reIni         = re("^[ \t]*" + sens + "([ \t]+=[ \t]*|[ \t]*=[ \t]+)[^ \t]")
	reFlag        = re("(--" + sens + "(=|[ \t]+)|(^|[ \t\"'&?;,])" + sens + "[ \t]*=)[^ \t\"'&;,\\\\]+")
	reFlagSep     = re("[= \t]")
)

// Redact copies r to w, replacing credentials with <redacted> and keeping
// everything else, IP addresses included; each input line gives one
// output line, so YAML and JSON stay valid and line numbers stay those of
// the collected file (see the script's redact()).
func Redact(w io.Writer, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	// lines end at \n only: a \r stays, as in awk
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	bw := bufio.NewWriter(w)
	st := redactState{s: newStructState()}
	for sc.Scan() {
		bw.WriteString(st.line(sc.Text()))
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return sc.Err()
}

// RedactString is Redact for a string (awk adds a final newline).
func RedactString(s string) string {
	var b strings.Builder
	Redact(&b, strings.NewReader(s))
	return b.String()
}

// redactState is what carries from one line to the next: inside a PEM
// key, an env "name:" of a secret waiting for its value, a flag waiting
// for its value as the next list element, inside a secret's block scalar.
type redactState struct {
	s                        structState
	inPEM, pendVal, pendFlag bool
}

func (st *redactState) line(orig string) string {
	line := st.s.line(orig)
	if st.inPEM {
		// a PEM key's lines become <redacted> one for one (the line
		// numbers of what follows stay those of the collected file)
		loc := rePemEnd.FindStringIndex(line)
		if loc == nil {
			if rePemEnd.MatchString(orig) {
				st.inPEM = false
			}
			return reIndent.FindString(line) + "<redacted>"
		}
		st.inPEM = false
		rest := line[loc[1]:]
		if rePemRestNone.MatchString(rest) {
			return reIndent.FindString(line) + "<redacted>"
		}
		line = rest
	}
	for {
		loc := rePemBegin.FindStringIndex(line)
		if loc == nil {
			break
		}
		pre, rest := line[:loc[0]], line[loc[0]:]
		if e := rePemEnd.FindStringIndex(rest); e != nil {
			line = pre + "<redacted private key>" + rest[e[1]:]
			continue
		}
		if q := pemQuoteEnd(pre, rest); q >= 0 {
			// a key cut short inside a string that closes on this line
			line = pre + "<redacted private key>" + rest[q:]
			continue
		}
		line = pre + "<redacted private key>"
		st.inPEM = true
		break
	}
	if st.pendVal && reValueLine.MatchString(line) {
		st.pendVal = false
		if !reValueBlock.MatchString(line) {
			return replaceFirst(reValue, line, "value: <redacted>")
		}
	}
	st.pendVal = reEnvName.MatchString(line)
	if st.pendFlag && reListElem.MatchString(line) {
		st.pendFlag = false
		return replaceFirst(reListValue, line, "- <redacted>")
	}
	st.pendFlag = reFlagElem.MatchString(line)
	line = subKV(line, reAuthPre, reHeaderPost)
	line = subKV(line, reXAuthPre, reHeaderPost)
	line = reBearer.ReplaceAllLiteralString(line, "Bearer <redacted>")
	line = reJWT.ReplaceAllLiteralString(line, "<redacted>")
	line = reAKID.ReplaceAllLiteralString(line, "<redacted>")
	line = userinfo(line)
	line = subKV(line, reJSONPre, reQuote)
	line = subKV(line, reEnvPairPre, reQuote)
	line = subKV(line, reFlagPairPre, reQuote)
	line = subKV(line, reEmbPre, reEmbPost)
	if !strings.Contains(line, "<redacted>") && reYAML.MatchString(line) {
		line = replaceFirst(reYAMLKey, line, "") + ": <redacted>"
	}
	if !strings.Contains(line, "<redacted>") {
		if loc := reIni.FindStringIndex(line); loc != nil {
			line = line[:loc[1]-1] + "<redacted>"
		}
	}
	return subFlag(line)
}

func userinfo(s string) string {
	var out strings.Builder
	for {
		loc := reUserinfo.FindStringIndex(s)
		if loc == nil {
			break
		}
		m := s[loc[0]:loc[1]]
		i := strings.Index(m, "://")
		rest := m[i+3:]
		j := strings.IndexByte(rest, ':')
		out.WriteString(s[:loc[0]])
		out.WriteString(m[:i+3])
		out.WriteString(rest[:j+1])
		out.WriteString("<redacted>@")
		s = s[loc[1]:]
	}
	out.WriteString(s)
	return out.String()
}

// pemQuoteEnd: a PEM key that begins inside a double-quoted string (an
// odd number of unescaped quotes before it) and has no END there ends
// with that string when the string closes on the line: the index in rest
// of its closing quote; -1 otherwise (a key in a YAML block scalar or a
// file goes on to END on later lines). collect.sh's quote_end is the same.
func pemQuoteEnd(pre, rest string) int {
	n := 0
	for i := 0; i < len(pre); i++ {
		if pre[i] == '"' && !escapedAt(pre, i) {
			n++
		}
	}
	if n%2 == 0 {
		return -1
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] == '"' && !escapedAt(rest, i) {
			return i
		}
	}
	return -1
}

// escapedAt: the byte at i follows an odd number of backslashes.
func escapedAt(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

func replaceFirst(re *lazyRE, s, repl string) string {
	loc := re.FindStringIndex(s)
	if loc == nil {
		return s
	}
	return s[:loc[0]] + repl + s[loc[1]:]
}

// subKV keeps every pre match and replaces what follows it up to the next
// post match (exclusive) with <redacted>; an empty value stays empty.
func subKV(s string, pre, post *lazyRE) string {
	var out strings.Builder
	for {
		loc := pre.FindStringIndex(s)
		if loc == nil {
			break
		}
		out.WriteString(s[:loc[1]])
		rest := s[loc[1]:]
		if rest == "" {
			s = ""
			break
		}
		p := post.FindStringIndex(rest)
		if p == nil {
			out.WriteString(rest)
			s = ""
			break
		}
		if p[0] > 0 {
			out.WriteString("<redacted>")
		}
		s = rest[p[0]:]
	}
	out.WriteString(s)
	return out.String()
}

func subFlag(s string) string {
	var out strings.Builder
	for {
		loc := reFlag.FindStringIndex(s)
		if loc == nil {
			break
		}
		flag := s[loc[0]:loc[1]]
		if strings.HasPrefix(flag, "--") {
			if i := reFlagSep.FindStringIndex(flag); i != nil {
				flag = flag[:i[0]+1]
			}
		} else if i := strings.IndexByte(flag, '='); i >= 0 {
			flag = flag[:i+1]
		}
		out.WriteString(s[:loc[0]])
		out.WriteString(flag)
		out.WriteString("<redacted>")
		s = s[loc[1]:]
	}
	out.WriteString(s)
	return out.String()
}
