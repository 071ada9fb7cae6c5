package analysis

import (
	"fmt"
	"strings"
	"sync"
	"text/template"
	"text/template/parse"
	"time"

	"github.com/prometheus/common/model"
)

// Vars are the variables of a query or condition template (DESIGN.md, "Labels and annotations").
type Vars struct {
	// Namespace of the Release and its Deployment.
	Namespace string
	// App is the Deployment's name.
	App string
	// Revision is the canary revision (the slogate_io_revision label of canary series).
	Revision string
	// StableRevision is the stable revision. Pods that predate the namespace's opt-in lack the
	// revision label, so stable-side queries should select slogate_io_revision!="{{ .Revision }}".
	StableRevision string
	// Window is the metric's window as a PromQL duration (5m, 90s, 1h30m).
	Window string
	// Args are the merged arguments of the template and the analysis step.
	Args map[string]string
}

// varNames are the fields of Vars a template may name.
var varNames = map[string]bool{
	"Namespace": true, "App": true, "Revision": true, "StableRevision": true, "Window": true, "Args": true,
}

// PromDuration formats d as a PromQL duration (5m, not Go's 5m0s).
func PromDuration(d time.Duration) string {
	return model.Duration(d).String()
}

// templates caches parsed templates by their text; a template is parsed once per process.
var templates sync.Map // string -> *template.Template

// maxCachedTemplates bounds the parse cache; past it templates are parsed on every use.
const maxCachedTemplates = 4096

var cachedTemplates struct {
	sync.Mutex
	n int
}

// parseTemplate parses text as a Go text/template with missingkey=error.
func parseTemplate(text string) (*template.Template, error) {
	if t, ok := templates.Load(text); ok {
		return t.(*template.Template), nil
	}
	t, err := template.New("query").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	cachedTemplates.Lock()
	if cachedTemplates.n < maxCachedTemplates {
		if _, loaded := templates.LoadOrStore(text, t); !loaded {
			cachedTemplates.n++
		}
	}
	cachedTemplates.Unlock()
	return t, nil
}

// Render executes text as a Go template over vars. Text without "{{" is returned as it is.
// A reference to an unknown variable or an argument without a value is an error.
func Render(text string, vars Vars) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	t, err := parseTemplate(text)
	if err != nil {
		return "", fmt.Errorf("parsing template: %w", err)
	}
	if vars.Args == nil {
		vars.Args = map[string]string{}
	}
	var b strings.Builder
	if err := t.Execute(&b, vars); err != nil {
		return "", fmt.Errorf("rendering template: %w", err)
	}
	return b.String(), nil
}

// checkReferences walks a parsed template and reports references to variables that Vars does not
// have, and to arguments not in declared. Unlike executing the template, it also sees references in
// branches that a sample execution would not take. Inside range and with the dot changes, so
// references there are left to execution.
func checkReferences(t *template.Template, declared map[string]bool) error {
	if t.Tree == nil || t.Root == nil {
		return nil
	}
	var errs []string
	check := func(idents []string) {
		if len(idents) == 0 {
			return
		}
		name := idents[0]
		switch {
		case !varNames[name]:
			errs = append(errs, fmt.Sprintf("unknown variable .%s (known: .Namespace, .App, .Revision, .StableRevision, .Window, .Args.<name>)", name))
		case name == "Args" && len(idents) > 1 && !declared[idents[1]]:
			errs = append(errs, fmt.Sprintf("argument %q is not declared in args", idents[1]))
		case name == "Args" && len(idents) > 2, name != "Args" && len(idents) > 1:
			errs = append(errs, fmt.Sprintf("variable .%s has no fields", strings.Join(idents, ".")))
		}
	}
	var walkPipe func(p *parse.PipeNode)
	var walkArg func(n parse.Node)
	walkArg = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.FieldNode:
			check(n.Ident)
		case *parse.VariableNode:
			// $ is the root data wherever it appears.
			if len(n.Ident) > 1 && n.Ident[0] == "$" {
				check(n.Ident[1:])
			}
		case *parse.ChainNode:
			walkArg(n.Node)
		case *parse.PipeNode:
			walkPipe(n)
		}
	}
	walkPipe = func(p *parse.PipeNode) {
		if p == nil {
			return
		}
		for _, c := range p.Cmds {
			for _, a := range c.Args {
				walkArg(a)
			}
		}
	}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.ActionNode:
			walkPipe(n.Pipe)
		case *parse.IfNode:
			walkPipe(n.Pipe)
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walkPipe(n.Pipe)
		case *parse.WithNode:
			walkPipe(n.Pipe)
		case *parse.TemplateNode:
			walkPipe(n.Pipe)
		}
	}
	walk(t.Root)
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
