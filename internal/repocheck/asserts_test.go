package repocheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// inert are the methods of *testing.T that cannot fail a test.
var inert = map[string]bool{
	"Log": true, "Logf": true, "Helper": true, "Parallel": true, "Skip": true, "Skipf": true,
	"SkipNow": true, "TempDir": true, "Setenv": true, "Chdir": true, "Cleanup": true, "Name": true,
	"Context": true, "Output": true, "Attr": true, "ArtifactDir": true,
}

// A test function that never hands its *testing.T to anything that can
// fail it (t.Error/Fatal, a helper taking t, t.Run, f.Fuzz ...) asserts
// nothing: it passes whatever the code does.
func TestEveryTestCanFail(t *testing.T) {
	fset := token.NewFileSet()
	tests := 0
	goFiles(t, func(rel string) {
		if !strings.HasSuffix(rel, "_test.go") {
			return
		}
		f, err := parser.ParseFile(fset, filepath.Join(root, rel), nil, 0)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || fn.Body == nil || fn.Type.Params.NumFields() != 1 {
				continue
			}
			if !(strings.HasPrefix(fn.Name.Name, "Test") || strings.HasPrefix(fn.Name.Name, "Fuzz")) || fn.Name.Name == "TestMain" {
				continue
			}
			names := fn.Type.Params.List[0].Names
			if len(names) != 1 {
				continue
			}
			tests++
			tv := names[0].Name
			if !canFail(fn.Body, tv) {
				t.Errorf("%s: %s asserts nothing (its %s is never used to fail)", fset.Position(fn.Pos()), fn.Name.Name, tv)
			}
		}
	})
	if tests < 300 {
		t.Errorf("only %d tests found: is the scan broken?", tests)
	}
}

// canFail reports whether the body uses the test variable tv other than
// through an inert method.
func canFail(body *ast.BlockStmt, tv string) bool {
	found := false
	ast.Inspect(body, func(n ast.Node) bool {
		if found {
			return false
		}
		switch x := n.(type) {
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && id.Name == tv {
				if !inert[x.Sel.Name] {
					found = true
				}
				return false
			}
		case *ast.Ident:
			if x.Name == tv {
				found = true // passed to a helper, captured, assigned
			}
		}
		return true
	})
	return found
}

func TestCanFailTellsPrintingFromChecking(t *testing.T) {
	for src, want := range map[string]bool{
		`func TestX(t *testing.T) { fmt.Println(f()); t.Log("x") }`:            false,
		`func TestX(t *testing.T) { t.Skip("x"); os.WriteFile("p", nil, 0) }`:  false,
		`func TestX(t *testing.T) { if f() != 1 { t.Errorf("f") } }`:           true,
		`func TestX(t *testing.T) { check(t, f()) }`:                           true,
		`func TestX(t *testing.T) { t.Run("a", func(t *testing.T) { g(t) }) }`: true,
	} {
		f, err := parser.ParseFile(token.NewFileSet(), "x_test.go", "package x\n"+src, 0)
		if err != nil {
			t.Fatal(err)
		}
		fn := f.Decls[0].(*ast.FuncDecl)
		if got := canFail(fn.Body, "t"); got != want {
			t.Errorf("canFail(%s) = %v, want %v", src, got, want)
		}
	}
}
