// Types for the two undici internals lib/http/request.ts loads directly. `import 'undici'` evaluates every
// dispatcher, interceptor, mock and cache store (≈125 ms at cold start, design §8); Pool plus the
// request API alone cost ≈45 ms. undici 7 has no `exports` map, so these paths resolve, and the version is
// pinned exactly in package.json: re-check both paths when upgrading it.
declare module 'undici/lib/dispatcher/pool.js' {
  import type { Pool } from 'undici';

  const PoolClass: typeof Pool;
  export = PoolClass;
}

declare module 'undici/lib/api/api-request.js' {
  import type { Dispatcher } from 'undici';

  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export = request;
}
