using System.Diagnostics.Metrics;
using ChatStats.Bot.Commands;
using ChatStats.Bot.Telegram;
using Telegram.Bot.Types;
using Microsoft.Extensions.Options;

namespace ChatStats.Bot.Ingest;

/// <summary>
/// Runs handlers for updates that need an answer: up to <see cref="IngestOptions.MaxConcurrentUpdates"/> at once, one at
/// a time within a chat, in arrival order. Only running handlers hold a slot, so a chat whose replies wait on Telegram's
/// limits cannot starve the others.
/// <para>
/// <see cref="Enqueue"/> never waits: recording goes on at the pace of the database whatever the answers do. Waiting work
/// is bounded per chat (<see cref="IngestOptions.MaxQueuedPerChat"/>) and overall (<see cref="IngestOptions.MaxWaitingAnswers"/>);
/// when a bound is reached an answer is given up at once (the update itself is recorded), chosen to keep the most useful
/// work: a person's older question goes before anyone's only one, state changes (the bot added or removed) are never
/// given up, and otherwise the newcomer waits for nobody. A chat-wide question identical to one already waiting in the
/// same chat (same command, arguments, topic and language) joins it instead: it is computed and answered once.
/// </para>
/// <para>
/// Answers also give way to recording: while recording is behind (<see cref="InboxSignal.Behind"/>: more waits than it
/// records in a second), or updates come in a surge, a handler waits (up to <see cref="MaxYield"/>) before it starts, so a flood of commands is recorded about as fast as plain messages instead
/// of sharing the processors with the statistics it asks for. Answers can never overtake Telegram's send limits
/// anyway; a second's delay costs them nothing.
/// </para>
/// </summary>
internal sealed class UpdateDispatcher : IAsyncDisposable
{
    private static readonly Meter Meter = new(IngestMetrics.MeterName + ".Dispatch");
    private static readonly Counter<long> Shed = Meter.CreateCounter<long>("chatstats.dispatch.shed", "{update}",
        "Answers given up (their updates are recorded), by reason: superseded (the same person asked again), chat_queue_full, saturated.");
    private static readonly Counter<long> Coalesced = Meter.CreateCounter<long>("chatstats.dispatch.coalesced", "{update}",
        "Questions that joined an identical one waiting in the same chat and were answered with it.");
    private static readonly Histogram<double> ReplyLatency = Meter.CreateHistogram<double>("chatstats.reply.latency", "s",
        "What the bot cost an asker, by command: from the question's turn in its chat (its receipt, or the end of the answer before it in that chat) to its answer's first send, less that send's wait for Telegram's limits.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30] });
    private static readonly Histogram<double> ChatQueueWait = Meter.CreateHistogram<double>("chatstats.reply.chat_queue_wait", "s",
        "Time a question waited behind earlier answers in its own chat (paced by Telegram's per-chat limits), by command.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.1, 0.5, 1, 3, 10, 30, 60, 120] });
    private static readonly Histogram<double> YieldWait = Meter.CreateHistogram<double>("chatstats.reply.yield_wait", "s",
        "Time a chat's next question waited for recording to catch up before it started (recording behind, or updates in a surge); zero when it did not wait.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3] });
    private static readonly Histogram<double> LimitWait = Meter.CreateHistogram<double>("chatstats.reply.limit_wait", "s",
        "Time an answer's first send waited for Telegram's limits (per chat, per group, overall, flood waits), by command.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.1, 0.5, 1, 3, 10, 30, 60, 120] });

    private readonly SemaphoreSlim _slots;
    private readonly int _capacity;
    private readonly int _maxQueuedPerChat;
    private readonly int _maxWaiting;
    private readonly Dictionary<long, Lane> _lanes = [];
    // Every waiting question in arrival order, to find the oldest one a person has asked again.
    private readonly LinkedList<Question> _waiting = new();
    private readonly Dictionary<(long Lane, long Person), int> _perPerson = [];
    private readonly HashSet<Task> _running = [];
    private readonly Lock _lock = new();
    private readonly IServiceScopeFactory _scopes;
    private readonly IQuestionKeys _keys;
    private readonly TimeProvider _time;
    private readonly ILogger<UpdateDispatcher> _logger;
    private readonly InboxSignal? _inbox;
    private readonly long _behind;
    private int _inFlight;

    /// <summary>The longest a handler waits for recording to catch up before it starts anyway.</summary>
    internal static readonly TimeSpan MaxYield = TimeSpan.FromSeconds(2);

    private static readonly TimeSpan YieldPoll = TimeSpan.FromMilliseconds(50);

    private readonly Scaling.ChatOrder? _order;

    public UpdateDispatcher(IServiceScopeFactory scopes, IQuestionKeys keys, IOptions<IngestOptions> options, TimeProvider time, ILogger<UpdateDispatcher> logger,
        IMeterFactory? meters = null, InboxSignal? inbox = null, Scaling.ChatOrder? order = null)
    {
        _order = order;
        _inbox = inbox;
        _behind = options.Value.ProcessBatchSize;
        _scopes = scopes;
        _keys = keys;
        _time = time;
        _logger = logger;
        _capacity = options.Value.MaxConcurrentUpdates;
        _slots = new SemaphoreSlim(_capacity, _capacity);
        _maxQueuedPerChat = options.Value.MaxQueuedPerChat;
        _maxWaiting = options.Value.MaxWaitingAnswers;
        // The gauges belong to this instance, so they come from the host's meter factory and go with it.
        var meter = meters?.Create(IngestMetrics.MeterName + ".Dispatch");
        meter?.CreateObservableGauge("chatstats.dispatch.waiting", () => Waiting, "{update}", "Questions accepted and waiting for their chat's turn.");
        meter?.CreateObservableGauge("chatstats.dispatch.running", () => InFlight, "{update}", "Handlers running now.");
    }

    /// <summary>One chat's questions, oldest first; <see cref="Running"/> while a task works through them.</summary>
    private sealed class Lane(long key)
    {
        public long Key { get; } = key;
        public LinkedList<Question> Queue { get; } = new();
        public bool Running;
        /// <summary>When the lane's last answer finished (wall clock), so the next one's turn is known.</summary>
        public DateTime LastFinished = DateTime.MinValue;
    }

    /// <summary>A waiting question: the update and, when others asked the same meanwhile, theirs (oldest first).</summary>
    private sealed class Question(Lane lane, Update update, DateTime? receivedAt, long? person, string? key)
    {
        public Lane Lane { get; } = lane;
        public List<Update> Askers { get; } = [update];
        /// <summary>When each asker's update was received, where known.</summary>
        public List<DateTime?> Received { get; } = [receivedAt];
        public long? Person { get; } = person;
        public string? Key { get; } = key;
        public LinkedListNode<Question>? InLane;
        public LinkedListNode<Question>? InOrder;
        /// <summary>Membership changes carry state (the bot added or removed): never given up.</summary>
        public bool Keep => Person is null;
    }

    /// <summary>Handlers running now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Questions accepted and waiting for their turn.</summary>
    public int Waiting
    {
        get
        {
            lock (_lock)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>Nothing waiting and nothing running, read at one moment (two separate reads can miss a question moving between them).</summary>
    public bool Idle
    {
        get
        {
            lock (_lock)
            {
                return _waiting.Count == 0 && Volatile.Read(ref _inFlight) == 0;
            }
        }
    }

    public static bool NeedsHandler(Update update) => update switch
    {
        { Message: { } m } => CommandParser.LooksLikeCommand(m),
        { MyChatMember: not null } => true,
        _ => false,
    };

    /// <summary>
    /// Accepts an update for handling, at once: false when its answer was given up (the update itself is recorded). It may
    /// instead cost an older waiting question its answer, or join an identical one.
    /// </summary>
    public bool Enqueue(Update update, DateTime? receivedAt = null)
    {
        // Updates without a chat have no order to keep; give each its own lane.
        var key = update.ChatId() ?? long.MinValue + update.Id;
        long? person = update.Message is { } m ? m.SenderChat?.Id ?? m.From?.Id ?? 0 : null;
        var question = person is null ? null : _keys.KeyOf(update);
        Question? victim = null;
        string? reason = null;
        lock (_lock)
        {
            if (!_lanes.TryGetValue(key, out var lane))
            {
                lane = new Lane(key);
                _lanes[key] = lane;
            }
            if (question is not null && lane.Queue.FirstOrDefault(w => w.Key == question) is { } same)
            {
                same.Askers.Add(update);
                same.Received.Add(receivedAt);
                Coalesced.Add(1);
                return true;
            }
            if (lane.Queue.Count >= _maxQueuedPerChat)
            {
                (victim, reason) = (Victim(lane.Queue, key, person), "chat_queue_full");
            }
            else if (_waiting.Count >= _maxWaiting)
            {
                (victim, reason) = (Victim(_waiting, key, person), "saturated");
            }
            if (reason is not null)
            {
                if (victim is null)
                {
                    RemoveIfIdle(lane);
                    return ShedOne(update, reason);
                }
                Remove(victim);
                reason = victim.Person == person && victim.Lane == lane ? "superseded" : reason;
            }
            var waiting = new Question(lane, update, receivedAt, person, question);
            waiting.InLane = lane.Queue.AddLast(waiting);
            waiting.InOrder = _waiting.AddLast(waiting);
            if (person is { } p)
            {
                _perPerson[(key, p)] = _perPerson.GetValueOrDefault((key, p)) + 1;
            }
            if (!lane.Running)
            {
                lane.Running = true;
                var task = RunLaneAsync(lane);
                _running.Add(task);
                _ = task.ContinueWith(t => { lock (_lock) { _running.Remove(t); } }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
        foreach (var given in victim?.Askers ?? [])
        {
            ShedOne(given, reason!);
        }
        return true;
    }

    /// <summary>
    /// Whose answer goes when <paramref name="among"/> is full: the oldest question of someone with another one waiting in
    /// the same chat (the newcomer counts, so a person asking again replaces their own older question); null when there is
    /// none, and then the newcomer's answer is the one given up. A question several people asked is nobody's to give up.
    /// </summary>
    private Question? Victim(IEnumerable<Question> among, long lane, long? newcomer)
    {
        foreach (var w in among)
        {
            if (w.Keep || w.Askers.Count > 1 || w.Person is not { } p)
            {
                continue;
            }
            var asked = _perPerson.GetValueOrDefault((w.Lane.Key, p)) + (w.Lane.Key == lane && p == newcomer ? 1 : 0);
            if (asked > 1)
            {
                return w;
            }
        }
        return null;
    }

    private void Remove(Question waiting)
    {
        waiting.Lane.Queue.Remove(waiting.InLane!);
        _waiting.Remove(waiting.InOrder!);
        if (waiting.Person is { } p)
        {
            var key = (waiting.Lane.Key, p);
            if (_perPerson[key] == 1)
            {
                _perPerson.Remove(key);
            }
            else
            {
                _perPerson[key]--;
            }
        }
    }

    private void RemoveIfIdle(Lane lane)
    {
        if (!lane.Running && lane.Queue.Count == 0)
        {
            _lanes.Remove(lane.Key);
        }
    }

    private bool ShedOne(Update update, string reason)
    {
        _order?.Finished([update]);
        Shed.Add(1, new KeyValuePair<string, object?>("reason", reason));
        _logger.LogWarning("Not answering update {UpdateId} in chat {ChatId}: {Reason}", update.Id, update.ChatId(), reason);
        return false;
    }

    /// <summary>Works through one chat's questions in order, each holding a running slot only while it runs.</summary>
    private async Task RunLaneAsync(Lane lane)
    {
        await Task.Yield();
        while (true)
        {
            await YieldToRecordingAsync().ConfigureAwait(false);
            // With several instances, a chat's earlier question may be answered elsewhere: wait for it (no slot held meanwhile).
            Question? head;
            lock (_lock)
            {
                head = lane.Queue.First?.Value;
            }
            if (_order is not null && head is not null)
            {
                await _order.WaitForTurnAsync(head.Askers[0]).ConfigureAwait(false);
            }
            await _slots.WaitAsync().ConfigureAwait(false);
            Question? next;
            var recheck = false;
            lock (_lock)
            {
                next = lane.Queue.First?.Value;
                if (next is null)
                {
                    // Everything that waited here was given up meanwhile.
                    lane.Running = false;
                    RemoveIfIdle(lane);
                }
                else if (_order is not null && next != head)
                {
                    // The question that waited its turn was given up meanwhile: the next one waits for its own.
                    (next, recheck) = (null, true);
                }
                else
                {
                    // Counted as running in the same step as it stops waiting, so it is never neither (see Idle).
                    Remove(next);
                    Interlocked.Increment(ref _inFlight);
                }
            }
            if (next is null)
            {
                _slots.Release();
                if (recheck)
                {
                    continue;
                }
                return;
            }
            try
            {
                await HandleAsync(next).ConfigureAwait(false);
                lane.LastFinished = _time.GetUtcNow().UtcDateTime;
            }
            finally
            {
                Interlocked.Decrement(ref _inFlight);
                _slots.Release();
            }
        }
    }

    /// <summary>
    /// Waits while recording is behind (more waits than it records in a second) or updates come in a surge (more than a
    /// chunk a second, and more than twice the rate of the seconds before), up to <see cref="MaxYield"/>: a flood's
    /// answers let its recording go first. A steady stream that recording keeps up with, however fast, is answered at
    /// once: holding back whenever more than a chunk came in a second, or whenever more than a chunk waited, made answers
    /// under a steady 5,000 updates/s wait the full 2 s; holding back only on the backlog let a flood's answers compete
    /// with the recording of its last chunk (flood / plain 238 %; all in docs/benchmarks.md).
    /// </summary>
    private async Task YieldToRecordingAsync()
    {
        if (_inbox is null)
        {
            return;
        }
        var started = _time.GetTimestamp();
        while ((_inbox.Behind(_behind) || _inbox.Surging(_behind)) && _time.GetElapsedTime(started) < MaxYield)
        {
            await Task.Delay(YieldPoll, _time).ConfigureAwait(false);
        }
        YieldWait.Record(_time.GetElapsedTime(started).TotalSeconds);
    }

    private async Task HandleAsync(Question question)
    {
        var askers = question.Askers;
        var latest = askers[^1];
        var started = _time.GetTimestamp();
        try
        {
            await using var scope = _scopes.CreateAsyncScope();
            var handler = scope.ServiceProvider.GetRequiredService<IUpdateHandler>();
            var timing = new ChatStats.Telegram.Sending.SendTiming();
            ChatStats.Telegram.Sending.SendTiming.Current = timing;
            await handler.HandleAsync(askers, CancellationToken.None).ConfigureAwait(false);
            IngestMetrics.HandlerDuration.Record(_time.GetElapsedTime(started).TotalSeconds);
            RecordReply(question, timing, question.Lane.LastFinished);
        }
        catch (Exception ex)
        {
            IngestMetrics.UpdatesFailed.Add(1, new KeyValuePair<string, object?>("stage", "handler"));
            _logger.LogError(ex, "Handler for update {UpdateId} in chat {ChatId} failed; dead-lettering it", latest.Id, latest.ChatId());
            await DeadLetterAsync(latest, ex).ConfigureAwait(false);
        }
        _order?.Finished(askers);
    }

    /// <summary>
    /// Each asker's wait for the answer, from the question's turn in its chat to the first send, less what that send
    /// waited for Telegram's limits: what the bot itself cost them. The wait behind earlier answers in the same chat and
    /// the wait for the limits are recorded apart. Nothing when no answer was sent.
    /// </summary>
    private void RecordReply(Question question, ChatStats.Telegram.Sending.SendTiming timing, DateTime previousFinished)
    {
        if (timing.FirstSendAt is not { } sentAt || question.Askers[^1].Message?.Text is not ['/', ..] text)
        {
            return;
        }
        // Only commands that answered get here, so the tag takes no more values than there are commands.
        var end = text.IndexOfAny([' ', '\n', '\t', '@']);
        var command = new KeyValuePair<string, object?>("command", (end < 0 ? text[1..] : text[1..end]).ToLowerInvariant());
        var sentWall = (_time.GetUtcNow() - _time.GetElapsedTime(sentAt)).UtcDateTime;
        LimitWait.Record(timing.WaitedForLimits.TotalSeconds, command);
        foreach (var received in question.Received)
        {
            if (received is { } at)
            {
                // Its turn: received, or once the answer ahead of it in the same chat was done, whichever is later.
                var turn = at > previousFinished ? at : previousFinished;
                ChatQueueWait.Record((turn - at).TotalSeconds, command);
                ReplyLatency.Record(Math.Max(0, (sentWall - turn - timing.WaitedForLimits).TotalSeconds), command);
            }
        }
    }

    private async Task DeadLetterAsync(Update update, Exception ex)
    {
        try
        {
            await using var scope = _scopes.CreateAsyncScope();
            var writer = scope.ServiceProvider.GetRequiredService<IngestWriter>();
            await writer.WriteDeadLettersAsync([IngestBatchProcessor.DeadLetterFor(update, ex)], CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception inner)
        {
            _logger.LogError(inner, "Could not dead-letter update {UpdateId}", update.Id);
        }
    }

    /// <summary>Waits for running and waiting handlers to finish, up to <paramref name="timeout"/>.</summary>
    public async Task DrainAsync(TimeSpan timeout)
    {
        Task[] lanes;
        lock (_lock)
        {
            lanes = [.. _running];
        }
        try
        {
            // A shutdown grace period is wall-clock time (it mirrors the process manager's stop timeout).
            await Task.WhenAll(lanes).WaitAsync(timeout, TimeProvider.System).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _logger.LogWarning("{Count} chats still had handlers running after {Timeout}; stopping anyway", lanes.Length, timeout);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DrainAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _slots.Dispose();
    }
}
