using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace OpenAiStreaming.Testing.Hosting;

/// <summary>
/// A self-signed server certificate for 127.0.0.1 and localhost, made in the test: as a PFX-loaded certificate that
/// Kestrel can use (its private key attached), and as PEM files for nginx.
/// </summary>
public sealed class TestCertificate : IDisposable
{
    private readonly RSA _key;

    /// <summary>Makes a new key and certificate, valid from five minutes ago for a day.</summary>
    public TestCertificate()
    {
        _key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", _key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));

        // A certificate fresh from CreateSelfSigned holds an ephemeral key that SslStream cannot always use on Linux;
        // a round trip through PFX gives a certificate with a usable private key.
        Certificate = X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pfx), password: null);
    }

    /// <summary>The certificate with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Accepts this certificate and no other (for <see cref="SslClientAuthenticationOptions"/>).</summary>
    /// <param name="sender">The connection.</param>
    /// <param name="certificate">The certificate the server presented.</param>
    /// <param name="chain">Its chain.</param>
    /// <param name="errors">What the default validation found (a self-signed certificate always has errors).</param>
    /// <returns>Whether <paramref name="certificate"/> is this one.</returns>
    public bool Validate(object sender, System.Security.Cryptography.X509Certificates.X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors) =>
        certificate is not null && certificate.GetCertHashString() == Certificate.GetCertHashString();

    /// <summary>Writes the certificate and its key as PEM files into <paramref name="directory"/>.</summary>
    /// <param name="directory">An existing directory.</param>
    /// <returns>The two files' paths.</returns>
    public (string CertificatePath, string KeyPath) WritePem(string directory)
    {
        string certificatePath = Path.Combine(directory, "server.crt");
        string keyPath = Path.Combine(directory, "server.key");
        File.WriteAllText(certificatePath, Certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, _key.ExportPkcs8PrivateKeyPem());
        return (certificatePath, keyPath);
    }

    /// <summary>Disposes the certificate and the key.</summary>
    public void Dispose()
    {
        Certificate.Dispose();
        _key.Dispose();
    }
}
