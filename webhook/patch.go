package webhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gomodules.xyz/jsonpatch/v2"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "sigs.k8s.io/json"
)

// edit is one change to a JSON document: set the value at path (creating the parent objects that
// are missing or null) or remove it. Path tokens are unescaped; in an array a token is a decimal
// index, or "-" to append.
type edit struct {
	path   []string
	value  any
	remove bool
}

func set(value any, path ...string) edit { return edit{path: path, value: value} }
func del(path ...string) edit            { return edit{path: path, remove: true} }

var errNotContainer = errors.New("not an object or array")

// buildPatch turns edits into the JSON patch that makes them on raw, the object as the API server
// sent it. The patch touches nothing else: an edit whose value is already there yields no
// operation, a removal of something absent neither. Working on the raw document rather than on a
// re-encoded typed object keeps fields this binary does not know untouched.
func buildPatch(raw []byte, edits []edit) ([]jsonpatch.Operation, error) {
	if len(edits) == 0 {
		return nil, nil
	}
	var doc any
	if err := kjson.UnmarshalCaseSensitivePreserveInts(raw, &doc); err != nil {
		return nil, fmt.Errorf("decoding the object: %w", err)
	}
	var ops []jsonpatch.Operation
	for _, e := range edits {
		op, err := apply(&doc, e)
		if err != nil {
			return nil, fmt.Errorf("patching %s: %w", pointer(e.path), err)
		}
		if op != nil {
			ops = append(ops, *op)
		}
	}
	return ops, nil
}

// apply makes e on *doc and returns the operation that does the same, or nil when e changes nothing.
func apply(doc *any, e edit) (*jsonpatch.Operation, error) {
	if len(e.path) == 0 {
		return nil, errors.New("empty path")
	}
	value := e.value
	if !e.remove {
		v, err := normalize(value)
		if err != nil {
			return nil, err
		}
		value = v
	}
	// parentSet stores the container being walked back into its parent: an append or a removal
	// in an array makes a new slice.
	node := *doc
	parentSet := func(v any) { *doc = v }
	for i, tok := range e.path {
		last := i == len(e.path)-1
		child, exists := lookup(node, tok)
		if exists && child == nil && !last {
			exists = false // null parent: replace it with an object
		}
		if !exists {
			if e.remove {
				return nil, nil
			}
			v := value
			for j := len(e.path) - 1; j > i; j-- {
				v = map[string]any{e.path[j]: v}
			}
			updated, err := store(node, tok, v)
			if err != nil {
				return nil, err
			}
			parentSet(updated)
			// The document keeps v and later edits may change it; the operation keeps a copy.
			op := jsonpatch.NewOperation("add", pointer(e.path[:i+1]), runtime.DeepCopyJSONValue(v))
			return &op, nil
		}
		if last {
			if e.remove {
				updated, err := drop(node, tok)
				if err != nil {
					return nil, err
				}
				parentSet(updated)
				op := jsonpatch.NewOperation("remove", pointer(e.path), nil)
				return &op, nil
			}
			if reflect.DeepEqual(child, value) {
				return nil, nil
			}
			updated, err := store(node, tok, value)
			if err != nil {
				return nil, err
			}
			parentSet(updated)
			op := jsonpatch.NewOperation("replace", pointer(e.path), runtime.DeepCopyJSONValue(value))
			return &op, nil
		}
		switch child.(type) {
		case map[string]any, []any:
		default:
			return nil, fmt.Errorf("%s: %w", pointer(e.path[:i+1]), errNotContainer)
		}
		container, key := node, tok
		parentSet = func(v any) { _, _ = store(container, key, v) }
		node = child
	}
	return nil, nil
}

// lookup returns the member tok of an object or array node.
func lookup(node any, tok string) (any, bool) {
	switch n := node.(type) {
	case map[string]any:
		v, ok := n[tok]
		return v, ok
	case []any:
		i, ok := index(tok, len(n))
		if !ok {
			return nil, false
		}
		return n[i], true
	}
	return nil, false
}

// store sets tok of node to v and returns node, or the grown slice after an append.
func store(node any, tok string, v any) (any, error) {
	switch n := node.(type) {
	case map[string]any:
		n[tok] = v
		return n, nil
	case []any:
		if tok == "-" {
			return append(n, v), nil
		}
		i, ok := index(tok, len(n))
		if !ok {
			return nil, fmt.Errorf("index %q out of range", tok)
		}
		n[i] = v
		return n, nil
	}
	return nil, errNotContainer
}

// drop removes tok from node and returns node, or the shrunk slice.
func drop(node any, tok string) (any, error) {
	switch n := node.(type) {
	case map[string]any:
		delete(n, tok)
		return n, nil
	case []any:
		i, ok := index(tok, len(n))
		if !ok {
			return nil, fmt.Errorf("index %q out of range", tok)
		}
		return append(n[:i:i], n[i+1:]...), nil
	}
	return nil, errNotContainer
}

func index(tok string, n int) (int, bool) {
	if tok == "" || (len(tok) > 1 && tok[0] == '0') {
		return 0, false
	}
	i, err := strconv.Atoi(tok)
	if err != nil || i < 0 || i >= n {
		return 0, false
	}
	return i, true
}

// normalize turns v into the form a decoded JSON document has (maps, slices, strings, bools,
// int64, float64), so that it compares with what is there.
func normalize(v any) (any, error) {
	switch v.(type) {
	case nil, string, bool, int64, float64:
		return v, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encoding a patch value: %w", err)
	}
	var out any
	if err := kjson.UnmarshalCaseSensitivePreserveInts(b, &out); err != nil {
		return nil, fmt.Errorf("decoding a patch value: %w", err)
	}
	return out, nil
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// pointer is the JSON pointer (RFC 6901) of a path.
func pointer(path []string) string {
	var b strings.Builder
	for _, tok := range path {
		b.WriteByte('/')
		b.WriteString(pointerEscaper.Replace(tok))
	}
	return b.String()
}
