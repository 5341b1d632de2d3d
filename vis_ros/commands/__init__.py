"""Sub-commands of the vis-ros CLI; each module has add_arguments() and run()."""
