package demo

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

// Keys of argocd-cm that docs/gitops.md gives.
const (
	releaseHealthKey    = "resource.customizations.health.slogate.io_Release"
	deploymentHealthKey = "resource.customizations.health.apps_Deployment"
)

// mustCheckArgoHealth runs the health checks of docs/gitops.md on the demo's live objects, as Argo CD
// runs them (gopher-lua, the object as the global `obj`, the script's return value read as
// {status, message}).
func mustCheckArgoHealth(t *testing.T, kubeconfig, v2, v3 string) {
	t.Helper()
	scripts := mustArgoScripts(t)
	getJSON := func(args ...string) map[string]any {
		out := mustRunKubectl(t, kubeconfig, append([]string{"get", "-n", "demo", "-o", "json"}, args...)...)
		var obj map[string]any
		if err := json.Unmarshal([]byte(out), &obj); err != nil {
			t.Fatalf("decoding kubectl get %v: %v", args, err)
		}
		return obj
	}

	promoted := getJSON("release", v2)
	rolledBack := getJSON("release", v3)
	held := getJSON("deployment", "payments-api")
	// The same Deployment as if slogate held nothing: the built-in rules apply.
	plain := deepCopyJSON(t, held)
	meta := plain["metadata"].(map[string]any)
	delete(meta, "annotations")
	plain["spec"].(map[string]any)["paused"] = false
	inProgress := deepCopyJSON(t, rolledBack)
	inProgress["status"].(map[string]any)["phase"] = "Progressing"
	paused := deepCopyJSON(t, rolledBack)
	paused["status"].(map[string]any)["phase"] = "Paused"

	for name, tc := range map[string]struct {
		script      string
		obj         map[string]any
		wantStatus  string
		wantMessage *regexp.Regexp
	}{
		"promoted release": {scripts[releaseHealthKey], promoted, "Healthy", regexp.MustCompile(`^Succeeded \(Promoted\)`)},
		"rolled-back release": {scripts[releaseHealthKey], rolledBack, "Degraded",
			regexp.MustCompile(`^RolledBack \(AnalysisFailed\): .*success-rate`)},
		"a release in progress":       {scripts[releaseHealthKey], inProgress, "Progressing", regexp.MustCompile(`^Progressing`)},
		"a release at a manual pause": {scripts[releaseHealthKey], paused, "Suspended", regexp.MustCompile(`^Paused`)},
		"a Deployment held on its failed revision": {scripts[deploymentHealthKey], held, "Degraded",
			regexp.MustCompile(`^slogate rolled revision \S+ back`)},
		"the same Deployment, not held": {scripts[deploymentHealthKey], plain, "Progressing",
			regexp.MustCompile(`^Waiting for rollout to finish`)},
	} {
		t.Run(name, func(t *testing.T) {
			status, message, err := runHealthScript(tc.script, tc.obj)
			if err != nil {
				t.Fatalf("running the health check: %v", err)
			}
			if status != tc.wantStatus || !tc.wantMessage.MatchString(message) {
				t.Errorf("health: got %s %q, want %s and a message matching %q", status, message, tc.wantStatus, tc.wantMessage)
			}
		})
	}
}

// mustArgoScripts reads the argocd-cm health checks out of the YAML blocks of docs/gitops.md.
func mustArgoScripts(t *testing.T) map[string]string {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(root, "docs", "gitops.md"))
	if err != nil {
		t.Fatal(err)
	}
	scripts := map[string]string{}
	for _, block := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(md), -1) {
		var cm struct {
			Data map[string]string `json:"data"`
		}
		if err := yaml.Unmarshal([]byte(block[1]), &cm); err != nil {
			continue // another kind of block
		}
		for k, v := range cm.Data {
			if strings.HasPrefix(k, "resource.customizations.health.") {
				scripts[k] = v
			}
		}
	}
	for _, k := range []string{releaseHealthKey, deploymentHealthKey} {
		if scripts[k] == "" {
			t.Fatalf("docs/gitops.md has no %s", k)
		}
	}
	return scripts
}

// runHealthScript runs an Argo CD health script on obj.
func runHealthScript(script string, obj map[string]any) (status, message string, err error) {
	L := lua.NewState()
	defer L.Close()
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		return "", "", err
	}
	ret, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return "", "", fmt.Errorf("the script returned %s, not a table", L.Get(-1).Type())
	}
	return lua.LVAsString(ret.RawGetString("status")), lua.LVAsString(ret.RawGetString("message")), nil
}

// toLua converts decoded JSON to Lua values as Argo CD does: objects and arrays to tables, numbers to
// numbers, null to nil.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range v {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range v {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(v)
	case float64:
		return lua.LNumber(v)
	case bool:
		return lua.LBool(v)
	default:
		return lua.LNil
	}
}

func deepCopyJSON(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
