// The floors of lib/ (scripts/floors.js lists them, top floor first; docs/architecture.md draws the same picture and
// `npm run lint` holds the two together): a wing imports only from the floors below its own, never from a wing beside
// it or above it, and nothing imports in a circle (type-only imports count: they tie files together on the plan all
// the same). Two more rules: the services (serve, compare) never reach the binding (native.ts) but go through
// predict/ and train/, and nothing in lib/ imports the package entry point. `npm run lint` runs this over lib/.

// scripts/floors.js holds plain paths; a rule matches a folder by its prefix, a file exactly.
const FLOORS = require('./scripts/floors').map((floor) =>
  floor.map((wing) => (wing.endsWith('/') ? wing : `${wing.replace(/\./g, '\\.')}$`))
);

const floorRules = FLOORS.flatMap((floor, i) => {
  const notBelow = FLOORS.slice(0, i + 1).flat();
  return floor.map((wing) => {
    const others = notBelow.filter((w) => w !== wing);
    return {
      name: `floor-${wing.replace(/[^a-z-]/g, '')}`,
      severity: 'error',
      comment: `${wing} imports only from the floors below it (${FLOORS.slice(i + 1)
        .map((f) => f.join(' '))
        .join(' > ')})`,
      from: { path: `^${wing}` },
      to: { path: others.length ? `^(${others.join('|')})` : '^$' },
    };
  });
});

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle ties its files into one knot: move the shared piece to the lower file.',
      from: { path: '^lib/' },
      to: { circular: true },
    },
    ...floorRules,
    {
      name: 'services-never-native',
      severity: 'error',
      comment: 'serve/ and compare/ use predict/ and train/, never the binding directly.',
      from: { path: '^lib/(serve|compare)/' },
      to: { path: '^lib/native(-loader)?\\.ts$' },
    },
    {
      name: 'only-index-is-public',
      severity: 'error',
      comment: 'Nothing in lib/ imports the package entry point (lib/index.ts): it only re-exports.',
      from: { path: '^lib/' },
      to: { path: '^lib/index\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
};
