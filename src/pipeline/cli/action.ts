// The GitHub Action's entry (action.yml `runs.main`, bundled into
// action/aviary.mjs): the runner starts it with no arguments, which means
// `aviary ci`. The same file run with arguments is the plain CLI, which is
// how `aviary ci` runs the command it maps the inputs to.
if (process.argv.length <= 2) process.argv.push('ci');
await import('../cli.js');
