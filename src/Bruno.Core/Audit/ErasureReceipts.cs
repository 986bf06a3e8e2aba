using System.Globalization;
using System.Text;
using System.Text.Json;
using Bruno.Core.Tenants;
using Bruno.Storage.Identity;

namespace Bruno.Core.Audit;

/// <summary>What an erasure removed, when, by whom, and digests that name what was destroyed without keeping it.</summary>
/// <param name="Id">The receipt's id.</param>
/// <param name="Kind"><c>tenant</c> or <c>user</c>.</param>
/// <param name="Tenant">The tenant.</param>
/// <param name="User">The user (a user erasure), or null.</param>
/// <param name="ErasedAt">When.</param>
/// <param name="ErasedBy">Who asked.</param>
/// <param name="Method">How it was erased.</param>
/// <param name="RowsDeleted">Rows removed (a user erasure).</param>
/// <param name="FilesRemoved">Files removed (a tenant erasure).</param>
/// <param name="BytesRemoved">Their size.</param>
/// <param name="KeyRingSha256">SHA-256 of the tenant's key ring as destroyed (a tenant erasure).</param>
/// <param name="AuditHead">Position and hash of the last audit entry before the erasure (<c>seq:hash</c>), or null.</param>
public sealed record ErasureRecord(
    string Id, string Kind, string Tenant, string? User, DateTimeOffset ErasedAt, string ErasedBy, string Method,
    long RowsDeleted, long FilesRemoved, long BytesRemoved, string? KeyRingSha256, string? AuditHead)
{
    /// <summary>The signed bytes: every field, one per line, in a fixed order.</summary>
    public byte[] SignedBytes() => Encoding.UTF8.GetBytes(string.Join('\n',
        "bruno-erasure-receipt/1", Id, Kind, Tenant, User ?? "-", ErasedAt.UtcTicks.ToString(CultureInfo.InvariantCulture), ErasedBy, Method,
        RowsDeleted.ToString(CultureInfo.InvariantCulture), FilesRemoved.ToString(CultureInfo.InvariantCulture), BytesRemoved.ToString(CultureInfo.InvariantCulture),
        KeyRingSha256 ?? "-", AuditHead ?? "-"));
}

/// <summary>An erasure record with the installation's signature (<see cref="PlatformSigner"/>).</summary>
/// <param name="Receipt">What was erased.</param>
/// <param name="KeyId">The signing key.</param>
/// <param name="Signature">Base64 ECDSA P-256 signature of <see cref="ErasureRecord.SignedBytes"/>.</param>
public sealed record SignedReceipt(ErasureRecord Receipt, string KeyId, string Signature)
{
    /// <summary>Whether the signature holds for one of <paramref name="trusted"/>.</summary>
    public bool IsValid(IEnumerable<TrustedKey> trusted) => Receipt is not null && PlatformSigner.Verify(trusted, KeyId, Receipt.SignedBytes(), Signature);
}

/// <summary>
/// Issues signed erasure receipts and keeps them in the catalog (outside the erased store), so an operator can hand
/// them on and anyone with the public key can check them. Throws <see cref="System.Data.Common.DbException"/> when the
/// catalog cannot store one.
/// </summary>
public sealed class ErasureReceipts
{
    private readonly CatalogDatabase _db;
    private readonly PlatformSigner _signer;
    private readonly TimeProvider _time;

    /// <summary>Receipts in <paramref name="db"/>, signed by <paramref name="signer"/>.</summary>
    public ErasureReceipts(CatalogDatabase db, PlatformSigner signer, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        (_db, _signer, _time) = (db, signer, time ?? TimeProvider.System);
    }

    /// <summary>Signs and keeps a receipt for a tenant's erasure.</summary>
    public SignedReceipt ForTenant(TenantId tenant, string actor, Storage.Model.TenantErasure erased, string? auditHead)
    {
        ArgumentNullException.ThrowIfNull(erased);
        return Issue(new ErasureRecord(NewId(), "tenant", tenant.Value, null, _time.GetUtcNow(), actor,
            "the tenant's key ring was overwritten and deleted (every copy of its files, backups included, became unreadable), then its files were removed; the catalog keeps a tombstone",
            0, erased.Files, erased.Bytes, erased.KeyRingSha256, auditHead));
    }

    /// <summary>Signs and keeps a receipt for one user's erasure.</summary>
    public SignedReceipt ForUser(TenantId tenant, UserId user, string actor, long rowsDeleted, string? auditHead) =>
        Issue(new ErasureRecord(NewId(), "user", tenant.Value, user.Value, _time.GetUtcNow(), actor,
            "the user's encryption key was destroyed (every copy of the user's rows, backups included, became unreadable), then the rows it sealed were deleted",
            rowsDeleted, 0, 0, null, auditHead));

    /// <summary>The tenant's receipts, oldest first.</summary>
    public IReadOnlyList<SignedReceipt> For(TenantId tenant) => _db.Query(
        "SELECT body FROM erasure_receipts WHERE tenant = @t ORDER BY issued_at, id;",
        r => JsonSerializer.Deserialize<SignedReceipt>(r.GetString(0), AuditJson.Options)!,
        ("@t", tenant.Value));

    private SignedReceipt Issue(ErasureRecord record)
    {
        var signed = new SignedReceipt(record, _signer.KeyId, _signer.Sign(record.SignedBytes()));
        _db.Execute("INSERT INTO erasure_receipts(id, tenant, issued_at, body) VALUES (@id, @t, @at, @body);",
            ("@id", record.Id), ("@t", record.Tenant), ("@at", record.ErasedAt.UtcTicks), ("@body", JsonSerializer.Serialize(signed, AuditJson.Options)));
        return signed;
    }

    private static string NewId() => "rcpt_" + Guid.NewGuid().ToString("N");
}
