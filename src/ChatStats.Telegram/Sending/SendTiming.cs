namespace ChatStats.Telegram.Sending;

/// <summary>
/// What one flow of work (a handler answering an update) spent waiting for Telegram's limits before its first send,
/// and when that send began. Set <see cref="Current"/> before the work starts; the <see cref="MessageSender"/> fills it
/// in as the flow sends, so the caller can tell its own latency from the wait Telegram's budgets imposed.
/// </summary>
public sealed class SendTiming
{
    private static readonly AsyncLocal<SendTiming?> Ambient = new();

    /// <summary>The timing of the flow running here, or null when nobody asked.</summary>
    public static SendTiming? Current
    {
        get => Ambient.Value;
        set => Ambient.Value = value;
    }

    /// <summary>Time spent waiting for limits, flood waits and the chat's wire before the first send left.</summary>
    public TimeSpan WaitedForLimits { get; private set; }

    /// <summary>When the first send left (a timestamp of the sender's clock), or null when nothing was sent.</summary>
    public long? FirstSendAt { get; private set; }

    internal void Waited(TimeSpan wait)
    {
        if (FirstSendAt is null)
        {
            WaitedForLimits += wait;
        }
    }

    internal void Sending(long timestamp) => FirstSendAt ??= timestamp;
}
