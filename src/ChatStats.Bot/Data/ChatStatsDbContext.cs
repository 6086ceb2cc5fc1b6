using System.Text;
using Microsoft.EntityFrameworkCore;

namespace ChatStats.Bot.Data;

internal sealed class ChatStatsDbContext(DbContextOptions<ChatStatsDbContext> options) : DbContext(options)
{
    public DbSet<ChatEntity> Chats => Set<ChatEntity>();
    public DbSet<ChatTitleChange> ChatTitles => Set<ChatTitleChange>();
    public DbSet<UserEntity> Users => Set<UserEntity>();
    public DbSet<UserNameChange> UserNames => Set<UserNameChange>();
    public DbSet<StoredMessage> Messages => Set<StoredMessage>();
    public DbSet<ServiceEvent> ServiceEvents => Set<ServiceEvent>();
    public DbSet<HourlyActivity> HourlyActivity => Set<HourlyActivity>();
    public DbSet<DeadLetter> DeadLetters => Set<DeadLetter>();
    public DbSet<InstanceStatus> Instances => Set<InstanceStatus>();
    public DbSet<InboxBatch> Inbox => Set<InboxBatch>();
    public DbSet<HandledUpdate> HandledUpdates => Set<HandledUpdate>();
    public DbSet<ReportRequest> ReportRequests => Set<ReportRequest>();
    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();
    public DbSet<ChatDailyUsage> DailyUsage => Set<ChatDailyUsage>();
    public DbSet<ChatMemberPrefs> MemberPrefs => Set<ChatMemberPrefs>();
    public DbSet<ForgottenMember> ForgottenMembers => Set<ForgottenMember>();
    public DbSet<ChatHourly> ChatHourly => Set<ChatHourly>();
    public DbSet<ChatUserTotals> ChatUserTotals => Set<ChatUserTotals>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(ChatStatsDbContext).Assembly);

        // PostgreSQL's own convention: snake_case tables, columns, keys and indexes.
        foreach (var entity in modelBuilder.Model.GetEntityTypes())
        {
            foreach (var property in entity.GetProperties())
            {
                property.SetColumnName(SnakeCase(property.Name));
            }
            foreach (var key in entity.GetKeys())
            {
                key.SetName(SnakeCase(key.GetName() ?? ""));
            }
            foreach (var fk in entity.GetForeignKeys())
            {
                fk.SetConstraintName(SnakeCase(fk.GetConstraintName() ?? ""));
            }
            foreach (var index in entity.GetIndexes())
            {
                index.SetDatabaseName(SnakeCase(index.GetDatabaseName() ?? ""));
            }
        }
    }

    internal static string SnakeCase(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && name[i - 1] != '_' && (char.IsLower(name[i - 1]) || (i + 1 < name.Length && char.IsLower(name[i + 1]))))
                {
                    sb.Append('_');
                }
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}
