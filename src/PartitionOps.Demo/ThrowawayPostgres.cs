using System.Diagnostics;
using PartitionOps.Engine;

namespace PartitionOps.Demo;

/// <summary>
/// A private PostgreSQL cluster in a temporary folder, reachable only through a unix socket in that
/// folder. Used by the demo, the integration tests and the benchmark. initdb refuses to run as root,
/// so as root the cluster is created and run as the 'postgres' OS user.
/// </summary>
public sealed class ThrowawayPostgres : IAsyncDisposable, IDisposable
{
    private readonly string _binDir;
    private readonly bool _asPostgresUser;
    private bool _stopped;

    private ThrowawayPostgres(string root, string binDir, int port, bool asPostgresUser)
    {
        Root = root;
        _binDir = binDir;
        Port = port;
        _asPostgresUser = asPostgresUser;
    }

    /// <summary>The folder holding data/, the socket and the server log.</summary>
    public string Root { get; }

    public int Port { get; }

    public string DataDirectory => Path.Combine(Root, "data");

    public string SocketDirectory => Root;

    public string LogFile => Path.Combine(Root, "server.log");

    /// <summary>Connection string of the superuser to the given database.</summary>
    public string ConnectionString(string database = "postgres") =>
        $"Host={SocketDirectory};Port={Port};Username=postgres;Database={database};" +
        "Pooling=true;Maximum Pool Size=50;Timeout=30;Command Timeout=0";

    /// <summary>Finds PostgreSQL's programs: PARTITIONOPS_PG_BIN, else the newest /usr/lib/postgresql/N/bin.</summary>
    public static string? FindBinDirectory()
    {
        var fromEnv = Environment.GetEnvironmentVariable("PARTITIONOPS_PG_BIN");
        if (!string.IsNullOrEmpty(fromEnv) && File.Exists(Path.Combine(fromEnv, "initdb"))) return fromEnv;
        const string debianRoot = "/usr/lib/postgresql";
        if (!Directory.Exists(debianRoot)) return null;
        return Directory.GetDirectories(debianRoot)
            .Select(d => (dir: Path.Combine(d, "bin"), version: int.TryParse(Path.GetFileName(d), out var v) ? v : 0))
            .Where(x => File.Exists(Path.Combine(x.dir, "initdb")))
            .OrderByDescending(x => x.version)
            .Select(x => x.dir)
            .FirstOrDefault();
    }

    /// <summary>Creates and starts a new cluster. Throws with a hint when PostgreSQL is not installed.</summary>
    public static async Task<ThrowawayPostgres> StartAsync(CancellationToken ct = default,
        IReadOnlyDictionary<string, string>? settings = null)
    {
        var binDir = FindBinDirectory() ?? throw new PartitionOpsException(
            "PostgreSQL server programs were not found (looked in PARTITIONOPS_PG_BIN and /usr/lib/postgresql/*/bin). " +
            "Install them, e.g. 'apt-get install -y postgresql', or set PARTITIONOPS_PG_BIN.");
        var asPostgres = Environment.UserName == "root";
        var root = Path.Combine(Path.GetTempPath(), "partitionops-pg-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        if (asPostgres) await RunAsync("chown", ["postgres:postgres", root], ct).ConfigureAwait(false);

        var port = Random.Shared.Next(20000, 60000);
        var cluster = new ThrowawayPostgres(root, binDir, port, asPostgres);
        try
        {
            await cluster.RunPgAsync("initdb", ["-D", cluster.DataDirectory, "-U", "postgres", "--auth=trust",
                "--encoding=UTF8", "--locale=C", "--no-sync"], ct).ConfigureAwait(false);
            var options = new Dictionary<string, string>
            {
                ["listen_addresses"] = "''",
                ["unix_socket_directories"] = $"'{root}'",
                ["port"] = port.ToString(),
                // A throwaway cluster: durability is not needed, speed is.
                ["fsync"] = "off",
                ["synchronous_commit"] = "off",
                ["full_page_writes"] = "off",
                ["shared_buffers"] = "256MB",
                ["max_connections"] = "200",
                ["max_wal_size"] = "4GB",
            };
            if (settings != null) foreach (var (k, v) in settings) options[k] = v;
            await File.AppendAllLinesAsync(Path.Combine(cluster.DataDirectory, "postgresql.conf"),
                options.Select(kv => $"{kv.Key} = {kv.Value}"), ct).ConfigureAwait(false);
            await cluster.RunPgAsync("pg_ctl", ["-D", cluster.DataDirectory, "-l", cluster.LogFile, "-w", "-t", "60", "start"], ct)
                .ConfigureAwait(false);
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Makes a folder the server may use (e.g. for a tablespace) inside the cluster's root.</summary>
    public async Task<string> CreateServerOwnedDirectoryAsync(string name, CancellationToken ct = default)
    {
        var path = Path.Combine(Root, name);
        Directory.CreateDirectory(path);
        if (_asPostgresUser) await RunAsync("chown", ["postgres:postgres", path], ct).ConfigureAwait(false);
        return path;
    }

    /// <summary>
    /// Stops the server the way a crash or a failover does (immediate: every session is cut, no checkpoint), keeps it
    /// down for <paramref name="downtime"/>, and starts it again (crash recovery runs). For fault tests.
    /// </summary>
    public async Task RestartAsync(TimeSpan downtime = default, CancellationToken ct = default)
    {
        if (_stopped) throw new InvalidOperationException("the cluster was stopped for good");
        await RunPgAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], ct).ConfigureAwait(false);
        if (downtime > TimeSpan.Zero) await Task.Delay(downtime, ct).ConfigureAwait(false);
        await RunPgAsync("pg_ctl", ["-D", DataDirectory, "-l", LogFile, "-w", "-t", "60", "start"], ct).ConfigureAwait(false);
    }

    public async Task StopAsync()
    {
        if (_stopped) return;
        _stopped = true;
        if (Directory.Exists(Path.Combine(DataDirectory, "global")))
        {
            try { await RunPgAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"],
                CancellationToken.None).ConfigureAwait(false); }
            catch (PartitionOpsException) { /* already down */ }
        }
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    public async ValueTask DisposeAsync() => await StopAsync().ConfigureAwait(false);

    public void Dispose() => StopAsync().GetAwaiter().GetResult();

    private Task RunPgAsync(string program, string[] args, CancellationToken ct) =>
        _asPostgresUser
            ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(_binDir, program), .. args], ct)
            : RunAsync(Path.Combine(_binDir, program), args, ct);

    private static async Task RunAsync(string fileName, string[] args, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi) ?? throw new PartitionOpsException($"could not start {fileName}");
        // pg_ctl's server inherits our pipes; read until the program itself exits, not until EOF.
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        await process.WaitForExitAsync(ct).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            var err = stderr.IsCompleted ? await stderr.ConfigureAwait(false) : "";
            var output = stdout.IsCompleted ? await stdout.ConfigureAwait(false) : "";
            throw new PartitionOpsException($"{Path.GetFileName(fileName)} {string.Join(' ', args)} failed ({process.ExitCode}): " +
                $"{err}{output}");
        }
    }
}
