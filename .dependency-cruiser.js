// The shape of lib/ (shared/DESIGN.md, "Layers"): each wing imports only the ones below it,
//   cli -> classifier -> hub -> qwen3 -> native.ts -> native-loader.ts,   util beneath all,
// services beside cli (serve, compare) use classifier and below, never the binding (native.ts), cli or each other,
// and cli may import them to launch them; nothing imports in a circle (type-only imports count: they tie files together on the plan all the same).
// `npm run lint` runs this over lib/.
/** @type {import('dependency-cruiser').IConfiguration} */
const services = ['lib/serve/', 'lib/compare/'];
const below = {
  'lib/cli/': [],
  'lib/serve/': ['lib/cli/', 'lib/compare/', 'lib/native\\.ts$', 'lib/native-loader\\.ts$'],
  'lib/compare/': ['lib/cli/', 'lib/serve/', 'lib/native\\.ts$', 'lib/native-loader\\.ts$'],
  'lib/classifier/': ['lib/cli/', ...services],
  'lib/hub/': ['lib/cli/', ...services, 'lib/classifier/'],
  'lib/qwen3/': ['lib/cli/', ...services, 'lib/classifier/', 'lib/hub/'],
  'lib/native\\.ts$': ['lib/cli/', ...services, 'lib/classifier/', 'lib/hub/', 'lib/qwen3/', 'lib/util/'],
  'lib/native-loader\\.ts$': [
    'lib/cli/',
    ...services,
    'lib/classifier/',
    'lib/hub/',
    'lib/qwen3/',
    'lib/util/',
    'lib/native\\.ts$',
  ],
  'lib/util/': [
    'lib/cli/',
    ...services,
    'lib/classifier/',
    'lib/hub/',
    'lib/qwen3/',
    'lib/native\\.ts$',
    'lib/native-loader\\.ts$',
  ],
};

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle ties its files into one knot: move the shared piece to the lower file.',
      from: { path: '^lib/' },
      to: { circular: true },
    },
    ...Object.entries(below).map(([from, above]) => ({
      name: `layers-${from.replace(/[^a-z]/g, '')}`,
      severity: 'error',
      comment: `${from} imports only the layers below it (cli -> serve/compare -> classifier -> hub -> qwen3 -> native, util beneath all; services never native)`,
      from: { path: `^${from}` },
      to: { path: above.length ? `^(${above.join('|')})` : '^$' },
    })),
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
