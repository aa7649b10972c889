/**
 * What every HTTP server of ours answers when a request handler throws: a short JSON 500 that names
 * nothing of the machine, while the person running the stage reads the reason on stderr. Left to
 * itself Bun answers with its development page (working directory, source paths, the lines around the
 * throw) unless told `development: false`; any client could read that.
 */
export const INTERNAL_ERROR = { message: "Internal error" };

export interface HttpServerErrorOptions {
  development: false;
  error(error: Error): Response;
}

/** Spread into every Bun.serve's options; `report` says the reason to the operator (stderr). */
export function httpServerErrors(report: (message: string) => void): HttpServerErrorOptions {
  return {
    development: false,
    error(error) {
      report(`request failed: ${error.message}`);
      return Response.json(INTERNAL_ERROR, { status: 500 });
    },
  };
}
