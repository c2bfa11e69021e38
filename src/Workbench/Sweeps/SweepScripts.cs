using System.Globalization;
using System.Text;

namespace Workbench.Sweeps;

/// <summary>
/// The ready-to-submit files of a planned sweep: slurm.sbatch (a job array, one shard per task), merge.sbatch (run after
/// the array with --dependency=afterok) and k8s-indexed-job.yaml (an Indexed Job, the shard from JOB_COMPLETION_INDEX).
/// Every task runs the same workbench binary on the same sweep folder and caches, which must be on a shared filesystem.
/// </summary>
public static class SweepScripts
{
    /// <summary>Slurm's --time for one shard: the estimate of the slowest shard, times 3 for slower nodes and cold caches,
    /// plus 5 minutes of start-up (data load), at least 10 minutes.</summary>
    public static TimeSpan ShardTimeLimit(SweepManifest manifest) =>
        TimeSpan.FromMinutes(Math.Max(10, Math.Ceiling((3 * manifest.LongestShardSeconds(manifest.Shards) + 300) / 60)));

    static string SlurmTime(TimeSpan t) => $"{(int)t.TotalHours:00}:{t.Minutes:00}:00";

    static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    /// <param name="workbench">The workbench command every task runs (an absolute path on the shared filesystem).</param>
    /// <param name="environment">Variables every task needs (the caches: WORKBENCH_DATA, WORKBENCH_MODELS), as absolute paths.</param>
    public static string Slurm(SweepManifest manifest, string directory, string workbench, IReadOnlyDictionary<string, string> environment)
    {
        var sb = new StringBuilder();
        sb.Append($"""
            #!/bin/bash
            # {manifest.Experiment} sweep: {manifest.Units.Count} unit(s) in {manifest.Shards} shard(s), at most {manifest.Parallel} at a time.
            # Submit the shards, then the merge once every shard has succeeded:
            #   jid=$(sbatch --parsable {directory}/slurm.sbatch) && sbatch --dependency=afterok:$jid {directory}/merge.sbatch
            # Resubmit only some shards (e.g. after a failure; done units are skipped): sbatch --array=1,2 {directory}/slurm.sbatch
            #SBATCH --job-name=wb-{manifest.Experiment}
            #SBATCH --array=0-{manifest.Shards - 1}%{manifest.Parallel}
            #SBATCH --cpus-per-task={manifest.Threads}
            #SBATCH --time={SlurmTime(ShardTimeLimit(manifest))}
            #SBATCH --output={directory}/logs/shard-%a.job%A.out
            #SBATCH --error={directory}/logs/shard-%a.job%A.err
            set -euo pipefail

            """);
        foreach (var (k, v) in environment) sb.Append($"export {k}={Quote(v)}\n");
        sb.Append($"exec {Quote(workbench)} sweep run {Quote(directory)} --shard-count {manifest.Shards} --shard-index \"$SLURM_ARRAY_TASK_ID\"\n");
        return sb.ToString();
    }

    public static string SlurmMerge(SweepManifest manifest, string directory, string workbench, IReadOnlyDictionary<string, string> environment)
    {
        var sb = new StringBuilder();
        sb.Append($"""
            #!/bin/bash
            # Merges the {manifest.Experiment} sweep once its array job succeeded: sbatch --dependency=afterok:<array job id> {directory}/merge.sbatch
            #SBATCH --job-name=wb-{manifest.Experiment}-merge
            #SBATCH --cpus-per-task=1
            #SBATCH --time=00:30:00
            #SBATCH --output={directory}/logs/merge.job%j.out
            #SBATCH --error={directory}/logs/merge.job%j.err
            set -euo pipefail

            """);
        foreach (var (k, v) in environment) sb.Append($"export {k}={Quote(v)}\n");
        sb.Append($"exec {Quote(workbench)} sweep merge {Quote(directory)}\n");
        return sb.ToString();
    }

    /// <summary>
    /// An Indexed Job: <c>completions</c> = shards, <c>parallelism</c> = the planned parallel tasks, each pod running
    /// `workbench sweep run` on the sweep folder of a ReadWriteMany volume (claim <paramref name="claim"/>, mounted at /sweep,
    /// the caches under /sweep/cache); Kubernetes sets JOB_COMPLETION_INDEX, which `sweep run` reads as the shard index.
    /// </summary>
    public static string Kubernetes(SweepManifest manifest, string sweepName, string image = "workbench:latest", string claim = "workbench-sweep")
    {
        string dir = $"/sweep/{sweepName}";
        string cpu = manifest.Threads.ToString(CultureInfo.InvariantCulture);
        return $"""
            # {manifest.Experiment} sweep as a Kubernetes Indexed Job: {manifest.Shards} shard(s), {manifest.Parallel} at a time.
            # Needs: an image with the workbench (set `image`), and a ReadWriteMany PersistentVolumeClaim '{claim}' holding this
            # sweep folder at {dir} (copy it there) and the caches (/sweep/cache). Apply: kubectl apply -f k8s-indexed-job.yaml
            # Then merge: kubectl wait --for=condition=complete job/wb-{sweepName} --timeout=24h, and run `workbench sweep merge {dir}`
            # in a pod with the same volume. A failed index is retried up to backoffLimitPerIndex times; done units are skipped.
            apiVersion: batch/v1
            kind: Job
            metadata:
              name: wb-{sweepName}
              labels:
                app: workbench-sweep
            spec:
              completionMode: Indexed
              completions: {manifest.Shards}
              parallelism: {manifest.Parallel}
              backoffLimitPerIndex: 2
              template:
                metadata:
                  labels:
                    app: workbench-sweep
                spec:
                  restartPolicy: Never
                  containers:
                    - name: shard
                      image: {image}
                      command: ["workbench", "sweep", "run", "{dir}", "--shard-count", "{manifest.Shards}"]
                      env:
                        - name: WORKBENCH_DATA
                          value: /sweep/cache/data
                        - name: WORKBENCH_MODELS
                          value: /sweep/cache/models
                      resources:
                        requests:
                          cpu: "{cpu}"
                        limits:
                          cpu: "{cpu}"
                      volumeMounts:
                        - name: sweep
                          mountPath: /sweep
                  volumes:
                    - name: sweep
                      persistentVolumeClaim:
                        claimName: {claim}

            """;
    }
}
