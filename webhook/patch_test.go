package webhook

import (
	"encoding/json"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/google/go-cmp/cmp"
)

func TestBuildPatch(t *testing.T) {
	cases := map[string]struct {
		doc       string
		edits     []edit
		wantPatch string
		wantDoc   string
		wantErr   string
	}{
		"a missing parent is created whole": {
			doc:       `{"metadata":{"name":"web"}}`,
			edits:     []edit{set("b", "metadata", "annotations", "slogate.io/a"), set("c", "metadata", "annotations", "slogate.io/b")},
			wantPatch: `[{"op":"add","path":"/metadata/annotations","value":{"slogate.io/a":"b"}},{"op":"add","path":"/metadata/annotations/slogate.io~1b","value":"c"}]`,
			wantDoc:   `{"metadata":{"name":"web","annotations":{"slogate.io/a":"b","slogate.io/b":"c"}}}`,
		},
		"a null parent is replaced": {
			doc:       `{"metadata":{"annotations":null}}`,
			edits:     []edit{set("b", "metadata", "annotations", "a")},
			wantPatch: `[{"op":"add","path":"/metadata/annotations","value":{"a":"b"}}]`,
			wantDoc:   `{"metadata":{"annotations":{"a":"b"}}}`,
		},
		"a missing spec is created": {
			doc:       `{}`,
			edits:     []edit{set(true, "spec", "paused"), set("r", "spec", "template", "metadata", "labels", "slogate.io/revision")},
			wantPatch: `[{"op":"add","path":"/spec","value":{"paused":true}},{"op":"add","path":"/spec/template","value":{"metadata":{"labels":{"slogate.io/revision":"r"}}}}]`,
			wantDoc:   `{"spec":{"paused":true,"template":{"metadata":{"labels":{"slogate.io/revision":"r"}}}}}`,
		},
		"an existing value is replaced": {
			doc:       `{"spec":{"paused":false}}`,
			edits:     []edit{set(true, "spec", "paused")},
			wantPatch: `[{"op":"replace","path":"/spec/paused","value":true}]`,
			wantDoc:   `{"spec":{"paused":true}}`,
		},
		"an equal value yields nothing": {
			doc:   `{"spec":{"paused":true,"x":{"a":[1,2]}}}`,
			edits: []edit{set(true, "spec", "paused"), set(map[string]any{"a": []int{1, 2}}, "spec", "x")},
		},
		"a removal": {
			doc:       `{"metadata":{"annotations":{"a~b":"1","c":"2"}}}`,
			edits:     []edit{del("metadata", "annotations", "a~b"), del("metadata", "annotations", "missing"), del("metadata", "labels", "x")},
			wantPatch: `[{"op":"remove","path":"/metadata/annotations/a~0b"}]`,
			wantDoc:   `{"metadata":{"annotations":{"c":"2"}}}`,
		},
		"array elements and an append": {
			doc: `{"spec":{"rules":[{"backendRefs":[{"name":"s","weight":100}]}]}}`,
			edits: []edit{set(int64(95), "spec", "rules", "0", "backendRefs", "0", "weight"),
				set(map[string]any{"name": "c", "weight": 5}, "spec", "rules", "0", "backendRefs", "-")},
			wantPatch: `[{"op":"replace","path":"/spec/rules/0/backendRefs/0/weight","value":95},{"op":"add","path":"/spec/rules/0/backendRefs/-","value":{"name":"c","weight":5}}]`,
			wantDoc:   `{"spec":{"rules":[{"backendRefs":[{"name":"s","weight":95},{"name":"c","weight":5}]}]}}`,
		},
		"a parent that is not an object": {
			doc:     `{"metadata":{"annotations":"x"}}`,
			edits:   []edit{set("b", "metadata", "annotations", "a")},
			wantErr: "patching /metadata/annotations/a: /metadata/annotations: not an object or array",
		},
		"a document that is not JSON": {
			doc:     `{`,
			edits:   []edit{set("b", "a")},
			wantErr: "decoding the object: unexpected end of JSON input",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			ops, err := buildPatch([]byte(tc.doc), tc.edits)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, gotErr); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
			if err != nil {
				return
			}
			gotPatch := ""
			if len(ops) > 0 {
				b, err := json.Marshal(ops)
				if err != nil {
					t.Fatal(err)
				}
				gotPatch = string(b)
			}
			if diff := cmp.Diff(tc.wantPatch, gotPatch); diff != "" {
				t.Errorf("patch (-want +got):\n%s", diff)
			}
			if gotPatch == "" {
				return
			}
			p, err := jsonpatch.DecodePatch([]byte(gotPatch))
			if err != nil {
				t.Fatalf("decoding the patch: %v", err)
			}
			out, err := p.Apply([]byte(tc.doc))
			if err != nil {
				t.Fatalf("applying the patch: %v", err)
			}
			if !jsonpatch.Equal(out, []byte(tc.wantDoc)) {
				t.Errorf("patched document = %s, want %s", out, tc.wantDoc)
			}
		})
	}
}
