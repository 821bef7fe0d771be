// composecheck loads a Compose file the way `docker compose config` does — compose-spec schema
// validation, interpolation, normalisation and the consistency checks (undefined networks,
// volumes, secrets, services) — without a Docker engine, and prints the resolved model as JSON.
// Usage: composecheck [-env KEY=VALUE ...] FILE...
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type envList []string

func (e *envList) String() string     { return strings.Join(*e, ",") }
func (e *envList) Set(v string) error { *e = append(*e, v); return nil }

func main() {
	var env envList
	flag.Var(&env, "env", "KEY=VALUE visible to interpolation (repeatable); the process environment is not used")
	profiles := flag.String("profiles", "", "comma-separated profiles to enable")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: composecheck [-env KEY=VALUE ...] FILE...")
		os.Exit(2)
	}
	opts := []cli.ProjectOptionsFn{cli.WithEnv(env), cli.WithConsistency(true), cli.WithNormalization(true), cli.WithInterpolation(true), cli.WithResolvedPaths(true)}
	if *profiles != "" {
		opts = append(opts, cli.WithProfiles(strings.Split(*profiles, ",")))
	}
	options, err := cli.NewProjectOptions(flag.Args(), opts...)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fail(err)
	}
	var pretty any
	if err := json.Unmarshal(out, &pretty); err != nil {
		fail(err)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(pretty); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "composecheck: %v\n", err)
	os.Exit(1)
}
