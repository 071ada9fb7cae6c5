package analysis

import (
	"fmt"
	"sync"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// conditionEnv is what a successCondition or failureCondition sees.
type conditionEnv struct {
	// Result is the measured value as a list, result[0] being the value (Argo Rollouts' shape).
	Result []float64 `expr:"result"`
}

// conditions compiles expr-lang conditions once per expression string.
type conditions struct {
	mu       sync.Mutex
	programs map[string]*vm.Program
}

// maxCachedConditions bounds the compile cache; past it conditions are compiled on every use.
const maxCachedConditions = 4096

// compiledConditions is the process-wide cache shared by the gate and validation.
var compiledConditions = &conditions{programs: map[string]*vm.Program{}}

// compile returns the program of an expression that must yield a bool over conditionEnv.
func (c *conditions) compile(expression string) (*vm.Program, error) {
	c.mu.Lock()
	p, ok := c.programs[expression]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := expr.Compile(expression, expr.Env(conditionEnv{}), expr.AsBool())
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if len(c.programs) < maxCachedConditions {
		c.programs[expression] = p
	}
	c.mu.Unlock()
	return p, nil
}

// eval compiles (or takes from the cache) and runs expression over result.
func (c *conditions) eval(expression string, result []float64) (bool, error) {
	p, err := c.compile(expression)
	if err != nil {
		return false, fmt.Errorf("compiling %q: %w", expression, err)
	}
	out, err := expr.Run(p, conditionEnv{Result: result})
	if err != nil {
		return false, fmt.Errorf("evaluating %q: %w", expression, err)
	}
	b, ok := out.(bool)
	if !ok {
		return false, fmt.Errorf("evaluating %q: got %T, want bool", expression, out)
	}
	return b, nil
}
