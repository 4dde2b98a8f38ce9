using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace PartitionOps.Cli.Output;

/// <summary>
/// --json: exactly one JSON document on stdout (camelCase, enums as strings, TimeSpan as "hh:mm:ss").
/// Errors are {"error": {"kind", "message", "parameter", "value"}}.
/// </summary>
internal static class JsonOutput
{
    public static readonly JsonSerializerOptions Options = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
            DictionaryKeyPolicy = JsonNamingPolicy.CamelCase,
            WriteIndented = true,
            // Read by scripts and people, never embedded in HTML: keep ' and < readable.
            Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        };
        options.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase));
        options.Converters.Add(new TimeSpanConverter());
        return options;
    }

    public static void Write(TextWriter stdout, object document)
    {
        stdout.WriteLine(JsonSerializer.Serialize(document, document.GetType(), Options));
        stdout.Flush();
    }

    public static void WriteError(TextWriter stdout, string kind, string message, string? parameter = null, object? value = null) =>
        Write(stdout, new ErrorDocument(new ErrorBody(kind, message, parameter, value?.ToString())));

    private sealed record ErrorDocument(ErrorBody Error);

    private sealed record ErrorBody(string Kind, string Message, string? Parameter, string? Value);

    /// <summary>"hh:mm:ss" (hours may exceed 24); reads the same and anything TimeSpan.Parse accepts.</summary>
    public static string FormatDuration(TimeSpan value)
    {
        var sign = value < TimeSpan.Zero ? "-" : "";
        var v = value.Duration();
        return string.Create(CultureInfo.InvariantCulture, $"{sign}{(long)v.TotalHours:00}:{v.Minutes:00}:{v.Seconds:00}");
    }

    private sealed class TimeSpanConverter : JsonConverter<TimeSpan>
    {
        public override TimeSpan Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            TimeSpan.Parse(reader.GetString()!, CultureInfo.InvariantCulture);

        public override void Write(Utf8JsonWriter writer, TimeSpan value, JsonSerializerOptions options) =>
            writer.WriteStringValue(FormatDuration(value));
    }
}
