import { type Context, Hono } from "hono";
import { compress } from "hono/compress";
import { serveStatic } from "hono/deno";
import { Layout } from "./components/Layout.tsx";
import { assetCaching } from "./lib/assets.ts";
import { clientIp } from "./lib/client_ip.ts";
import { errorResponse, ParleyError } from "./lib/errors.ts";
import { headAsGet, wasHead } from "./lib/head_as_get.ts";
import { hostCheck } from "./lib/host_check.ts";
import { originCheck } from "./lib/origin_check.ts";
import { renderPage } from "./lib/render_page.tsx";
import { securityHeaders } from "./lib/security_headers.ts";
import type { AppEnv, Services } from "./lib/services.ts";
import { handler as home } from "./routes/index.tsx";
import { handler as room } from "./routes/rooms/[room].tsx";
import { handler as rooms } from "./routes/api/rooms.ts";
import { handler as directory } from "./routes/api/directory.ts";
import { handler as oneRoom } from "./routes/api/rooms/[room].ts";
import { handler as session } from "./routes/api/session.ts";
import { handler as messages } from "./routes/api/rooms/[room]/messages.ts";
import { handler as ws } from "./routes/api/rooms/[room]/ws.ts";
import { handler as events } from "./routes/api/rooms/[room]/events.ts";
import { handler as typing } from "./routes/api/rooms/[room]/typing.ts";
import { handler as healthz } from "./routes/healthz.ts";
import { handler as metrics } from "./routes/metrics.ts";

const STATIC_ROOT = new URL("./static", import.meta.url).pathname;

function isApi(c: Context): boolean {
  return c.req.path.startsWith("/api/");
}

/**
 * What an operator needs to tell why the host or origin check refused a request (the proxy's
 * `Host`, the page's `Origin`), so that `PARLEY_HOSTS` or `PARLEY_ALLOWED_ORIGINS` can be set.
 */
function refusedBy(c: Context, code: string): Record<string, string | undefined> {
  if (code !== "forbidden_origin" && code !== "misdirected_request") return {};
  return {
    host: c.req.header("host"),
    origin: code === "forbidden_origin" ? c.req.header("origin") : undefined,
  };
}

/** Builds the Parley web app: pages, the JSON API, the WebSocket endpoint and static files. */
export function createApp(services: Services): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // A HEAD answer says the length of the GET's body (see lib/head_as_get.ts).
  const dispatch = app.fetch;
  app.fetch = (request, ...rest) =>
    dispatch(request.method === "HEAD" ? headAsGet(request) : request, ...rest);
  app.use(securityHeaders());
  app.use(hostCheck(services.config.hosts));
  app.use(async (c, next) => {
    c.set("services", services);
    await next();
  });
  // Other sites' pages may not change state or open live streams (reads stay open).
  const sameOrigin = originCheck({ allowedOrigins: services.config.allowedOrigins });
  app.on(["POST", "PUT", "PATCH", "DELETE"], "*", sameOrigin);
  app.use("/api/rooms/:room/ws", sameOrigin);
  app.use("/api/rooms/:room/events", sameOrigin);

  app.get("/healthz", healthz.GET);
  app.get("/metrics", metrics.GET);
  // Pages and static files go out gzipped to browsers that take it; API answers, long polls among
  // them, are small and many, and left as they are.
  const compressed = compress({ encoding: "gzip" });
  app.get("/", compressed, home.GET);
  app.post("/", home.POST);
  app.get("/rooms/:room", compressed, room.GET);
  // A pasted link with a slash at the end opens the room.
  app.get(
    "/rooms/:room/",
    (c) => c.redirect(`/rooms/${encodeURIComponent(c.req.param("room"))}`, 301),
  );
  app.get("/api/session", session.GET);
  app.post("/api/session", session.POST);
  app.delete("/api/session", session.DELETE);
  app.get("/api/directory", directory.GET);
  app.get("/api/rooms", rooms.GET);
  app.post("/api/rooms", rooms.POST);
  app.get("/api/rooms/:room", oneRoom.GET);
  app.get("/api/rooms/:room/messages", messages.GET);
  app.post("/api/rooms/:room/messages", messages.POST);
  app.get("/api/rooms/:room/ws", ws.GET);
  app.get("/api/rooms/:room/events", events.GET);
  app.post("/api/rooms/:room/typing", typing.POST);
  app.use("/static/*", compressed, assetCaching());
  app.use("/static/*", serveStatic({ root: STATIC_ROOT, rewriteRequestPath: (p) => p.slice(7) }));

  app.notFound((c) => {
    if (isApi(c)) return errorResponse(404, "not_found", `No API endpoint at ${c.req.path}`);
    return renderPage({
      title: "Not found · Parley",
      status: 404,
      body: (
        <Layout>
          <h1>Page not found</h1>
          <p>
            <a href="/">Go to the room directory</a>
          </p>
        </Layout>
      ),
    });
  });

  app.onError((error, c) => {
    const method = wasHead(c.req.raw) ? "HEAD" : c.req.method;
    if (error instanceof ParleyError) {
      const { metrics, events, config } = services;
      metrics.rejected.inc(error.code);
      const ip = clientIp(c, config.trustProxy);
      events.write("rejected", {
        method,
        path: c.req.path,
        ip,
        code: error.code,
        ...refusedBy(c, error.code),
      });
      return error.toResponse();
    }
    console.error(`Request ${method} ${c.req.path} failed:`, error);
    return errorResponse(500, "internal_error", "The server failed to handle the request");
  });
  return app;
}
