"""README.txt of an evidence package: what it holds and how to check it, in Chinese and English."""

from __future__ import annotations

_TEMPLATE = """\
堆场视频证据包 / Yard video evidence package
==========================================

批次 / Batch: {number}
生成时间 / Generated: {generated}
签名密钥指纹 / Signing key fingerprint (SHA-256; 须与系统公布的一致 / must equal the published one):
    {fingerprint}

内容 / Contents
  cameras/    摄像机录像片段（原始编码，未重新编码）/ camera clips (joined, not re-encoded)
  bodycam/    执法记录仪视频与照片（上传时的原始文件）/ body-cam videos and photos, as uploaded
  custody/    保管链记录（审计日志）/ chain-of-custody log (audit events)
  manifest.json  清单：每个文件的 SHA-256、大小、来源、时间范围 / manifest: SHA-256, size, source, time range
  manifest.sig   清单的 Ed25519 签名 / Ed25519 signature of manifest.json
  public_key.pem 本系统的签名公钥 / the installation's public key
  SHA256SUMS     所有文件的 SHA-256（sha256sum -c 格式）/ SHA-256 of every file (sha256sum -c format)
  SHA256SUMS.sig SHA256SUMS 的 Ed25519 签名 / Ed25519 signature of SHA256SUMS

如何核验 / How to verify
  1. 使用 yard-vms 命令 / with the yard-vms command:
       vms verify PACKAGE.zip --expect-fingerprint <系统公布的指纹 / fingerprint the installation publishes>

  2. 使用标准工具 / with standard tools (Linux: unzip, sha256sum, OpenSSL 3):
       unzip PACKAGE.zip -d package && cd package
       sha256sum -c SHA256SUMS
       openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in SHA256SUMS -sigfile SHA256SUMS.sig
       openssl pkeyutl -verify -pubin -inkey public_key.pem -rawin -in manifest.json -sigfile manifest.sig
       openssl pkey -pubin -in public_key.pem -outform DER | sha256sum

     第一步每行应显示 OK；第二、三步应显示 "Signature Verified Successfully"；
     第四步输出的指纹必须与系统公布的指纹（GET /api/evidence/public-key）一致，
     否则签名可能来自他人的密钥。未列在 SHA256SUMS 中的文件不属于本证据包。
     Every line of the first check must say OK; the second and third must print
     "Signature Verified Successfully"; the fingerprint printed by the fourth must equal the one the
     installation publishes (GET /api/evidence/public-key): otherwise anyone could have re-signed the
     package. Files not listed in SHA256SUMS are not part of the evidence.
"""


def readme_text(number: str, generated: str, fingerprint: str) -> str:
    return _TEMPLATE.format(number=number, generated=generated, fingerprint=fingerprint)
