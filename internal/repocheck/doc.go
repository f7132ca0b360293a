// Package repocheck holds tests about the repository itself rather than
// one package: what comments cite exists, tests do not sleep to
// synchronize. It has no code of its own.
package repocheck
