/**
 * Typed errors of the cluster glue. The serve command turns {@link ClusterConfigError} and
 * {@link ClusterStartError} into one line and exit code 2; the API turns {@link ClusterKeyError} into
 * a 400 answer.
 *
 * @module
 */

/** Base class of the cluster glue's errors. */
export class ClusterError extends Error {
  override name = "ClusterError";
}

/** The cluster settings cannot work together; the message names the flags. */
export class ClusterConfigError extends ClusterError {
  override name = "ClusterConfigError";
}

/** The ring could not be started: port in use, unreadable state directory, worker failure. */
export class ClusterStartError extends ClusterError {
  override name = "ClusterStartError";
}

/** A key operation was refused: bad key, unknown key, the primary removed, or no key ring at all. */
export class ClusterKeyError extends ClusterError {
  override name = "ClusterKeyError";
}

/** A state file exists but cannot be used; the message names the file. */
export class StateDirError extends ClusterError {
  override name = "StateDirError";
}
