/** The machine a run was measured on, as the commands a reader would type report it. */
export interface MachineInfo {
  nproc: string;
  free: string;
  deno: string;
  kernel: string;
  /** The Parley commit, with `+ local changes` when the work tree differs from it. */
  commit: string;
}

async function run(command: string, args: string[], cwd?: URL): Promise<string> {
  try {
    const { stdout } = await new Deno.Command(command, { args, cwd, stderr: "null" }).output();
    return new TextDecoder().decode(stdout).trimEnd();
  } catch {
    return "(unavailable)";
  }
}

/** Collects `nproc`, `free -h`, `deno --version`, `uname -sr` and the checkout's commit. */
export async function machineInfo(root: URL): Promise<MachineInfo> {
  const commit = await run("git", ["rev-parse", "--short", "HEAD"], root);
  const dirty = await run("git", ["status", "--porcelain", "--untracked-files=no"], root);
  return {
    nproc: await run("nproc", []),
    free: await run("free", ["-h"]),
    deno: await run(Deno.execPath(), ["--version"]),
    kernel: await run("uname", ["-sr"]),
    commit: dirty && dirty !== "(unavailable)" ? `${commit} + local changes` : commit,
  };
}
