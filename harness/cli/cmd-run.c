/* cmd-run.c: harness run — drive a scenario against the stack and store the run. */
