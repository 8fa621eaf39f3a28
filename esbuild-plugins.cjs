// esbuild plugins for serverless-esbuild (`custom.esbuild.plugins`). Kept to what shrinks cold start.
module.exports = [
  {
    // undici's HTTP/2 client is used only with `allowH2: true`, which the bridge never sets; bundling it
    // costs every function ~40 KB. The stub fails loudly should that ever change.
    name: 'stub-undici-http2',
    setup(build) {
      build.onResolve({ filter: /(^|[\\/])client-h2\.js$/ }, (args) =>
        args.importer.includes('undici')
          ? { path: 'undici-client-h2-stub', namespace: 'stub-undici-http2' }
          : undefined,
      );
      build.onLoad({ filter: /.*/, namespace: 'stub-undici-http2' }, () => ({
        contents:
          "module.exports = function connectH2() { throw new Error('HTTP/2 (allowH2) is not bundled with this function'); };",
        loader: 'js',
      }));
    },
  },
];
