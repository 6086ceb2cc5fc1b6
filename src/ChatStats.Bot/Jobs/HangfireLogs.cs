using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Hangfire.Logging;
using MsLogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace ChatStats.Bot.Jobs;

/// <summary>
/// Hangfire logs through one provider for the whole process (<see cref="LogProvider.SetCurrentLogProvider"/>), and
/// Hangfire.NetCore points it at the <see cref="ILoggerFactory"/> of whichever host configured Hangfire last. Once
/// that host is disposed while another one keeps running (the test suite, a CLI command run beside a host), every
/// logger Hangfire creates afterwards throws <see cref="ObjectDisposedException"/>; Hangfire.PostgreSql creates one
/// per fetched job, after the fetch is committed, so the job was left fetched and untouched until its invisibility
/// timeout. This provider follows the hosts that are alive: each adds its factory while it runs
/// (<see cref="HangfireLogsAttachment"/>), log lines go to the newest, and with none alive they go nowhere.
/// </summary>
internal sealed class HangfireLogs : ILogProvider
{
    public static readonly HangfireLogs Instance = new();

    private readonly Lock _lock = new();
    private readonly ConditionalWeakTable<ILoggerFactory, ConcurrentDictionary<string, ILogger>> _loggers = [];
    private ILoggerFactory[] _factories = [];

    private HangfireLogs()
    {
    }

    public ILog GetLogger(string name) => new Log(this, name);

    internal void Attach(ILoggerFactory factory)
    {
        lock (_lock)
        {
            _factories = [.. _factories.Where(f => f != factory), factory];
        }
    }

    internal void Detach(ILoggerFactory factory)
    {
        lock (_lock)
        {
            _factories = [.. _factories.Where(f => f != factory)];
        }
    }

    private ILogger? Current(string name)
    {
        var factories = Volatile.Read(ref _factories);
        if (factories.Length == 0)
        {
            return null;
        }
        var factory = factories[^1];
        try
        {
            return _loggers.GetOrCreateValue(factory).GetOrAdd(name, factory.CreateLogger);
        }
        catch (ObjectDisposedException)
        {
            // Disposed between the read and the call: its host is going; the line is dropped rather than thrown.
            return null;
        }
    }

    private sealed class Log(HangfireLogs provider, string name) : ILog
    {
        bool ILog.Log(Hangfire.Logging.LogLevel logLevel, Func<string>? messageFunc, Exception? exception)
        {
            var level = logLevel switch
            {
                Hangfire.Logging.LogLevel.Trace => MsLogLevel.Trace,
                Hangfire.Logging.LogLevel.Debug => MsLogLevel.Debug,
                Hangfire.Logging.LogLevel.Info => MsLogLevel.Information,
                Hangfire.Logging.LogLevel.Warn => MsLogLevel.Warning,
                Hangfire.Logging.LogLevel.Error => MsLogLevel.Error,
                Hangfire.Logging.LogLevel.Fatal => MsLogLevel.Critical,
                _ => MsLogLevel.None,
            };
            var logger = provider.Current(name);
            if (logger is null || !logger.IsEnabled(level))
            {
                return false;
            }
            if (messageFunc is not null)
            {
                // Hangfire asks with a null message only to learn whether the level is enabled.
                logger.Log(level, 0, messageFunc(), exception, static (message, _) => message);
            }
            return true;
        }
    }
}

/// <summary>This host's logger factory in <see cref="HangfireLogs"/> from the first use of Hangfire until the host is disposed.</summary>
internal sealed class HangfireLogsAttachment : IDisposable
{
    private readonly ILoggerFactory _factory;

    public HangfireLogsAttachment(ILoggerFactory factory)
    {
        _factory = factory;
        HangfireLogs.Instance.Attach(factory);
        LogProvider.SetCurrentLogProvider(HangfireLogs.Instance);
    }

    public void Dispose() => HangfireLogs.Instance.Detach(_factory);
}
