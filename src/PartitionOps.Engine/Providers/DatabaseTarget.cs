using System.Data.Common;

namespace PartitionOps.Engine.Providers;

/// <summary>
/// Where to connect: every engine request carries one. Front ends build it from their own options
/// (--provider/--connection, -Connection, -SqlInstance/-Database/-SqlCredential, -AccessToken).
/// The access token is kept out of <see cref="ToString"/> and of <see cref="DisplayName"/>.
/// </summary>
public sealed class DatabaseTarget
{
    private readonly string? _accessToken;

    public DatabaseTarget(IDatabaseProvider provider, string connectionString, string? accessToken = null)
    {
        Provider = provider ?? throw new ArgumentNullException(nameof(provider));
        if (string.IsNullOrWhiteSpace(connectionString))
            throw new InvalidRequestException(nameof(DatabaseTarget.ConnectionString), "",
                "is empty: give a connection string (or set PARTITIONOPS_CONNECTION)");
        ConnectionString = connectionString;
        _accessToken = accessToken;
        // Parse now so a malformed string is bad input (exit 2), not a failure halfway through.
        using var probe = provider.CreateConnection(connectionString, accessToken);
    }

    public IDatabaseProvider Provider { get; }

    public string ConnectionString { get; }

    /// <summary>The connection string with secrets masked, for messages and logs.</summary>
    public string DisplayName => ConnectionStrings.Redact(ConnectionString, Provider);

    public DbConnection CreateConnection() => Provider.CreateConnection(ConnectionString, _accessToken);

    /// <summary>Opens a connection; an unreachable server is a failure (exit 1), with the target redacted.</summary>
    public async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var connection = CreateConnection();
        try
        {
            await connection.OpenAsync(ct).ConfigureAwait(false);
            return connection;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            // The driver's message may repeat a secret of the string: scrub it. The driver's exception stays the inner one
            // (retries classify it); front ends print only this message.
            throw new ConnectionFailedException(
                $"could not connect to {Provider.Name} at {DisplayName}: " +
                $"{ConnectionStrings.Scrub(e.Message, ConnectionString, Provider)}", e);
        }
    }

    public override string ToString() => $"{Provider.Name}: {DisplayName}";
}

