package tree

import (
	"errors"
	"strings"

	"github.com/arbor-go/arbor/registry"
)

// Validate checks a spec and its children, nested supervisors included,
// without starting anything, as OTP's check_childspecs. Each problem is a
// *SpecError naming the supervisor, child and field; several are joined.
// Start and StartChild validate too, so calling Validate first is optional.
func Validate(spec Spec) error {
	return validateSpec(nameOr(spec.Name, "root"), &spec)
}

func nameOr(name, def string) string {
	if name == "" {
		return def
	}
	return name
}

func validateSpec(path string, spec *Spec) error {
	var errs []error
	add := func(child, field string, err error) {
		if err != nil {
			errs = append(errs, &SpecError{Supervisor: path, Child: child, Field: field, Err: err})
		}
	}
	add("", "Strategy", spec.Strategy.Valid())
	add("", "Intensity", spec.Intensity.Validate())
	add("", "Backoff", spec.Backoff.Validate())
	add("", "AutoShutdown", spec.AutoShutdown.Valid())
	if spec.MaxRunning < 0 {
		add("", "MaxRunning", ErrNegativeLimit)
	}
	if spec.SubtreeMaxRunning < 0 {
		add("", "SubtreeMaxRunning", ErrNegativeLimit)
	}
	if spec.EventBuffer < 0 {
		add("", "EventBuffer", ErrNegativeLimit)
	}
	if spec.ShutdownGrace < 0 {
		add("", "ShutdownGrace", ErrNegativeShutdown)
	}
	if r := spec.Defaults.Restart; r != nil {
		add("", "Defaults.Restart", r.Valid())
	}
	if spec.Defaults.Shutdown < 0 {
		add("", "Defaults.Shutdown", ErrNegativeShutdown)
	}
	if spec.Defaults.AttemptTimeout < 0 {
		add("", "Defaults.AttemptTimeout", ErrNegativeTimeout)
	}
	if b := spec.Defaults.Backoff; b != nil {
		add("", "Defaults.Backoff", b.Validate())
	}
	seen := make(map[string]bool, len(spec.Children))
	var names map[string]bool
	for _, c := range spec.Children {
		if c.ID != "" && seen[c.ID] {
			add(c.ID, "ID", ErrDuplicateID)
		}
		seen[c.ID] = true
		if c.name != "" {
			if names[c.name] {
				add(c.ID, "Name", ErrDuplicateName)
			}
			if names == nil {
				names = make(map[string]bool)
			}
			names[c.name] = true
		}
		if err := validateChild(path, spec, c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// validateChild checks one child spec against its supervisor's spec.
func validateChild(path string, parent *Spec, c ChildSpec) error {
	var errs []error
	add := func(field string, err error) {
		if err != nil {
			errs = append(errs, &SpecError{Supervisor: path, Child: c.ID, Field: field, Err: err})
		}
	}
	switch {
	case c.ID == "":
		add("ID", ErrEmptyID)
	case strings.Contains(c.ID, "/"):
		add("ID", ErrSlashInID)
	}
	switch c.kind {
	case kindWorker:
		if c.factory == nil {
			add("Factory", ErrNilFactory)
		}
	case kindTask:
		if c.task == nil {
			add("Factory", ErrNilFactory)
		}
	case kindSupervisor:
		if c.sup == nil {
			add("Factory", ErrNilFactory)
		} else if err := validateSpec(path+"/"+c.ID, c.sup); err != nil {
			errs = append(errs, err)
		}
	case kindDynamic:
		if c.dyn == nil {
			add("Factory", ErrNilFactory)
		} else if err := c.dyn.validate(path + "/" + c.ID); err != nil {
			errs = append(errs, err)
		}
	default:
		add("Factory", ErrNilFactory)
	}
	r := resolve(parent, c)
	if c.restart != nil {
		add("Restart", c.restart.Valid())
	}
	if r.restart.Valid() == nil && parent.AutoShutdown.Valid() == nil {
		add("Significant", parent.AutoShutdown.ValidateChild(r.restart, c.significant))
	}
	if c.shutdown == shutdownTimeout && c.timeout < 0 {
		add("Shutdown", ErrNegativeShutdown)
	}
	if c.attempt < 0 {
		add("AttemptTimeout", ErrNegativeTimeout)
	}
	if c.backoff != nil {
		add("Backoff", c.backoff.Validate())
	}
	if c.named {
		add("Name", registry.ValidName(c.name))
	}
	return errors.Join(errs...)
}
