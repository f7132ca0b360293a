package collector

import (
	"bufio"
	"io"
	"regexp"
	"strings"
)

// The redaction rules of tkesnap-collect.sh's redact(), line for line, so
// the Go node collector writes byte-identical files. POSIX (leftmost-
// longest) regexps match awk's semantics.
const sens = `[A-Za-z0-9_.-]*([Tt][Oo][Kk][Ee][Nn]|[Pp][Aa][Ss][Ss][Ww][Oo]?[Rr][Dd]|[Ss][Ee][Cc][Rr][Ee][Tt]|[Aa][Pp][Ii][_-]?[Kk][Ee][Yy]|[Aa][Cc][Cc][Ee][Ss][Ss][_-]?[Kk][Ee][Yy]|[Pp][Rr][Ii][Vv][Aa][Tt][Ee][_-]?[Kk][Ee][Yy]|[Cc][Ll][Ii][Ee][Nn][Tt]-[Kk][Ee][Yy]-[Dd][Aa][Tt][Aa]|[Cc][Rr][Ee][Dd][Ee][Nn][Tt][Ii][Aa][Ll][Ss]?)[A-Za-z0-9_.-]*`

var (
	rePemBegin  = regexp.MustCompilePOSIX(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)
	rePemBegAll = regexp.MustCompilePOSIX(`-----BEGIN [A-Z ]*PRIVATE KEY-----.*`)
	rePemEnd    = regexp.MustCompilePOSIX(`-----END [A-Z ]*PRIVATE KEY-----`)
	reValueLine = regexp.MustCompilePOSIX(`^[ 	-]*value:`)
	reValue     = regexp.MustCompilePOSIX(`value:.*`)
	reEnvName   = regexp.MustCompilePOSIX(`^[ 	-]*name:[ 	]*"?` + sens + `"?[ 	]*$`)
	reBearer    = regexp.MustCompilePOSIX(`[Bb][Ee][Aa][Rr][Ee][Rr][ 	]+[A-Za-z0-9._~+/=-]+`)
	reAKID      = regexp.MustCompilePOSIX(`AKID[A-Za-z0-9]{10,}`)
	reJSONPre   = regexp.MustCompilePOSIX(`(\\?")` + sens + `\\?"[ 	]*:[ 	]*\\?"`)
	reJSONPost  = regexp.MustCompilePOSIX(`\\?"`)
	reEmbPre    = regexp.MustCompilePOSIX(`\\n[ 	-]*` + sens + `[ 	]*:[ 	]*`)
	reEmbPost   = regexp.MustCompilePOSIX(`\\|"`)
	reYAML      = regexp.MustCompilePOSIX(`^[ 	-]*"?` + sens + `"?[ 	]*:[ 	]+[^ 	{[|>]`)
	reYAMLKey   = regexp.MustCompilePOSIX(`:[ 	]+.*`)
	reFlag      = regexp.MustCompilePOSIX(`(--` + sens + `(=|[ 	]+)|(^|[ 	"])[A-Z0-9_]*(TOKEN|PASSWORD|PASSWD|SECRET|SECRET_KEY|SECRETKEY|API_KEY|ACCESS_KEY)[A-Z0-9_]*=)[^ 	"]+`)
	reFlagSep   = regexp.MustCompilePOSIX(`[= 	]`)
)

// Redact copies r to w, replacing credentials (token, password, secret and
// key values, bearer tokens, PEM private keys, Tencent Cloud AKIDs) with
// <redacted> and keeping everything else, IP addresses included.
func Redact(w io.Writer, r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	bw := bufioWriter(w)
	inPEM, pendVal := false, false
	for sc.Scan() {
		line := sc.Text()
		out, skip := redactLine(line, &inPEM, &pendVal)
		if skip {
			continue
		}
		bw.WriteString(out)
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

func bufioWriter(w io.Writer) *bufio.Writer { return bufio.NewWriter(w) }

func redactLine(line string, inPEM, pendVal *bool) (string, bool) {
	if rePemBegin.MatchString(line) {
		*inPEM = true
		return replaceFirst(rePemBegAll, line, "<redacted private key>"), false
	}
	if *inPEM {
		if rePemEnd.MatchString(line) {
			*inPEM = false
		}
		return "", true
	}
	if *pendVal && reValueLine.MatchString(line) {
		*pendVal = false
		return replaceFirst(reValue, line, "value: <redacted>"), false
	}
	*pendVal = reEnvName.MatchString(line)
	line = reBearer.ReplaceAllLiteralString(line, "Bearer <redacted>")
	line = reAKID.ReplaceAllLiteralString(line, "<redacted>")
	line = subKV(line, reJSONPre, reJSONPost)
	line = subKV(line, reEmbPre, reEmbPost)
	if !strings.Contains(line, "<redacted>") && reYAML.MatchString(line) {
		line = replaceFirst(reYAMLKey, line, "") + ": <redacted>"
	}
	return subFlag(line), false
}

func replaceFirst(re *regexp.Regexp, s, repl string) string {
	loc := re.FindStringIndex(s)
	if loc == nil {
		return s
	}
	return s[:loc[0]] + repl + s[loc[1]:]
}

// subKV keeps every pre match and replaces what follows it up to the next
// post match (exclusive) with <redacted>.
func subKV(s string, pre, post *regexp.Regexp) string {
	var out strings.Builder
	for {
		loc := pre.FindStringIndex(s)
		if loc == nil {
			break
		}
		out.WriteString(s[:loc[1]])
		rest := s[loc[1]:]
		if p := post.FindStringIndex(rest); p != nil {
			out.WriteString("<redacted>")
			s = rest[p[0]:]
		} else {
			out.WriteString(rest)
			s = ""
		}
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
