"""The stdlib Ed25519 verifier that an auditor runs offline (deploy/verify_dossier.py): the
RFC 8032 test vectors (section 7.1), the encodings it must refuse, and agreement with
``cryptography`` (OpenSSL) on random keys and messages, signed and mutated."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deploy.verify_dossier import ed25519_verify, public_key_of_seed

# The order of the base point (RFC 8032, 5.1): a signature's S must be below it.
L = 2**252 + 27742317777372353535851937790883648493
P = 2**255 - 19


@dataclass(frozen=True)
class Vector:
    name: str
    secret: str
    public: str
    message: str
    signature: str

    def bytes(self) -> tuple[bytes, bytes, bytes, bytes]:
        return tuple(
            bytes.fromhex(x) for x in (self.secret, self.public, self.message, self.signature)
        )  # type: ignore[return-value]


def _hex(*lines: str) -> str:
    return "".join(lines)


# RFC 8032, 7.1 "Test Vectors for Ed25519", in the RFC's own 16-byte lines.
RFC8032_VECTORS = [
    Vector(
        "TEST 1",
        _hex("9d61b19deffd5a60ba844af492ec2cc4", "4449c5697b326919703bac031cae7f60"),
        _hex("d75a980182b10ab7d54bfed3c964073a", "0ee172f3daa62325af021a68f707511a"),
        "",
        _hex(
            "e5564300c360ac729086e2cc806e828a",
            "84877f1eb8e5d974d873e06522490155",
            "5fb8821590a33bacc61e39701cf9b46b",
            "d25bf5f0595bbe24655141438e7a100b",
        ),
    ),
    Vector(
        "TEST 2",
        _hex("4ccd089b28ff96da9db6c346ec114e0f", "5b8a319f35aba624da8cf6ed4fb8a6fb"),
        _hex("3d4017c3e843895a92b70aa74d1b7ebc", "9c982ccf2ec4968cc0cd55f12af4660c"),
        "72",
        _hex(
            "92a009a9f0d4cab8720e820b5f642540",
            "a2b27b5416503f8fb3762223ebdb69da",
            "085ac1e43e15996e458f3613d0f11d8c",
            "387b2eaeb4302aeeb00d291612bb0c00",
        ),
    ),
    Vector(
        "TEST 3",
        _hex("c5aa8df43f9f837bedb7442f31dcb7b1", "66d38535076f094b85ce3a2e0b4458f7"),
        _hex("fc51cd8e6218a1a38da47ed00230f058", "0816ed13ba3303ac5deb911548908025"),
        "af82",
        _hex(
            "6291d657deec24024827e69c3abe01a3",
            "0ce548a284743a445e3680d7db5ac3ac",
            "18ff9b538d16f290ae67f760984dc659",
            "4a7c15e9716ed28dc027beceea1ec40a",
        ),
    ),
    Vector(
        "TEST 1024",
        _hex("f5e5767cf153319517630f226876b86c", "8160cc583bc013744c6bf255f5cc0ee5"),
        _hex("278117fc144c72340f67d0f2316e8386", "ceffbf2b2428c9c51fef7c597f1d426e"),
        _hex(
            "08b8b2b733424243760fe426a4b54908",
            "632110a66c2f6591eabd3345e3e4eb98",
            "fa6e264bf09efe12ee50f8f54e9f77b1",
            "e355f6c50544e23fb1433ddf73be84d8",
            "79de7c0046dc4996d9e773f4bc9efe57",
            "38829adb26c81b37c93a1b270b20329d",
            "658675fc6ea534e0810a4432826bf58c",
            "941efb65d57a338bbd2e26640f89ffbc",
            "1a858efcb8550ee3a5e1998bd177e93a",
            "7363c344fe6b199ee5d02e82d522c4fe",
            "ba15452f80288a821a579116ec6dad2b",
            "3b310da903401aa62100ab5d1a36553e",
            "06203b33890cc9b832f79ef80560ccb9",
            "a39ce767967ed628c6ad573cb116dbef",
            "efd75499da96bd68a8a97b928a8bbc10",
            "3b6621fcde2beca1231d206be6cd9ec7",
            "aff6f6c94fcd7204ed3455c68c83f4a4",
            "1da4af2b74ef5c53f1d8ac70bdcb7ed1",
            "85ce81bd84359d44254d95629e9855a9",
            "4a7c1958d1f8ada5d0532ed8a5aa3fb2",
            "d17ba70eb6248e594e1a2297acbbb39d",
            "502f1a8c6eb6f1ce22b3de1a1f40cc24",
            "554119a831a9aad6079cad88425de6bd",
            "e1a9187ebb6092cf67bf2b13fd65f270",
            "88d78b7e883c8759d2c4f5c65adb7553",
            "878ad575f9fad878e80a0c9ba63bcbcc",
            "2732e69485bbc9c90bfbd62481d9089b",
            "eccf80cfe2df16a2cf65bd92dd597b07",
            "07e0917af48bbb75fed413d238f5555a",
            "7a569d80c3414a8d0859dc65a46128ba",
            "b27af87a71314f318c782b23ebfe808b",
            "82b0ce26401d2e22f04d83d1255dc51a",
            "ddd3b75a2b1ae0784504df543af8969b",
            "e3ea7082ff7fc9888c144da2af58429e",
            "c96031dbcad3dad9af0dcbaaaf268cb8",
            "fcffead94f3c7ca495e056a9b47acdb7",
            "51fb73e666c6c655ade8297297d07ad1",
            "ba5e43f1bca32301651339e22904cc8c",
            "42f58c30c04aafdb038dda0847dd988d",
            "cda6f3bfd15c4b4c4525004aa06eeff8",
            "ca61783aacec57fb3d1f92b0fe2fd1a8",
            "5f6724517b65e614ad6808d6f6ee34df",
            "f7310fdc82aebfd904b01e1dc54b2927",
            "094b2db68d6f903b68401adebf5a7e08",
            "d78ff4ef5d63653a65040cf9bfd4aca7",
            "984a74d37145986780fc0b16ac451649",
            "de6188a7dbdf191f64b5fc5e2ab47b57",
            "f7f7276cd419c17a3ca8e1b939ae49e4",
            "88acba6b965610b5480109c8b17b80e1",
            "b7b750dfc7598d5d5011fd2dcc5600a3",
            "2ef5b52a1ecc820e308aa342721aac09",
            "43bf6686b64b2579376504ccc493d97e",
            "6aed3fb0f9cd71a43dd497f01f17c0e2",
            "cb3797aa2a2f256656168e6c496afc5f",
            "b93246f6b1116398a346f1a641f3b041",
            "e989f7914f90cc2c7fff357876e506b5",
            "0d334ba77c225bc307ba537152f3f161",
            "0e4eafe595f6d9d90d11faa933a15ef1",
            "369546868a7f3a45a96768d40fd9d034",
            "12c091c6315cf4fde7cb68606937380d",
            "b2eaaa707b4c4185c32eddcdd306705e",
            "4dc1ffc872eeee475a64dfac86aba41c",
            "0618983f8741c5ef68d3a101e8a3b8ca",
            "c60c905c15fc910840b94c00a0b9d0",
        ),
        _hex(
            "0aab4c900501b3e24d7cdf4663326a3a",
            "87df5e4843b2cbdb67cbf6e460fec350",
            "aa5371b1508f9f4528ecea23c436d94b",
            "5e8fcd4f681e30a6ac00a9704a188a03",
        ),
    ),
    Vector(
        "TEST SHA(abc)",
        _hex("833fe62409237b9d62ec77587520911e", "9a759cec1d19755b7da901b96dca3d42"),
        _hex("ec172b93ad5e563bf4932c70e1245034", "c35467ef2efd4d64ebf819683467e2bf"),
        _hex(
            "ddaf35a193617abacc417349ae204131",
            "12e6fa4e89a97ea20a9eeee64b55d39a",
            "2192992a274fc1a836ba3c23a3feebbd",
            "454d4423643ce80e2a9ac94fa54ca49f",
        ),
        _hex(
            "dc2a4459e7369633a52b1bf277839a00",
            "201009a3efbf3ecb69bea2186c26b589",
            "09351fc9ac90b3ecfdfbc7c66431e030",
            "3dca179c138ac17ad9bef1177331a704",
        ),
    ),
]
VECTOR_IDS = [v.name for v in RFC8032_VECTORS]


def flip(data: bytes, bit: int) -> bytes:
    """``data`` with one bit inverted (bit 0 is the lowest bit of the first byte)."""
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def openssl_accepts(public: bytes, message: bytes, signature: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def with_s(signature: bytes, s: int) -> bytes:
    return signature[:32] + s.to_bytes(32, "little")


# ---------------------------------------------------------------------- RFC 8032, 7.1


def test_the_vectors_are_typed_as_the_rfc_prints_them():
    """Ed25519 is deterministic: OpenSSL signs each message with each secret to exactly the
    RFC's signature and derives exactly its public key, so a typing slip cannot hide here; the
    SHA(abc) message is SHA-512 of "abc"."""
    for vector in RFC8032_VECTORS:
        secret, public, message, signature = vector.bytes()
        key = Ed25519PrivateKey.from_private_bytes(secret)
        assert key.public_key().public_bytes_raw() == public, vector.name
        assert key.sign(message) == signature, vector.name
    assert RFC8032_VECTORS[-1].message == hashlib.sha512(b"abc").hexdigest()
    assert len(bytes.fromhex(RFC8032_VECTORS[3].message)) == 1023


@pytest.mark.parametrize("vector", RFC8032_VECTORS, ids=VECTOR_IDS)
def test_an_rfc_signature_verifies_and_its_key_derives_from_its_seed(vector: Vector):
    secret, public, message, signature = vector.bytes()
    assert public_key_of_seed(secret) == public
    assert ed25519_verify(public, message, signature)


@pytest.mark.parametrize("vector", RFC8032_VECTORS, ids=VECTOR_IDS)
def test_one_flipped_bit_in_the_signature_message_or_key_is_refused(vector: Vector):
    _, public, message, signature = vector.bytes()
    # R's first and last bits (the last is the sign of x), S's first and top bits.
    for bit in (0, 7, 100, 255, 256, 300, 400, 511):
        assert not ed25519_verify(public, message, flip(signature, bit)), f"signature bit {bit}"
    for bit in (0, 9, 128, 254, 255):
        assert not ed25519_verify(flip(public, bit), message, signature), f"key bit {bit}"
    if message:
        for bit in {0, len(message) * 8 // 2, len(message) * 8 - 1}:
            assert not ed25519_verify(public, flip(message, bit), signature), f"message bit {bit}"
    else:
        assert not ed25519_verify(public, b"\x00", signature)


def test_every_single_bit_flip_of_a_signature_is_refused():
    _, public, message, signature = RFC8032_VECTORS[1].bytes()
    refused = [not ed25519_verify(public, message, flip(signature, bit)) for bit in range(512)]
    assert all(refused), [bit for bit, ok in enumerate(refused) if not ok]


@pytest.mark.parametrize("vector", RFC8032_VECTORS, ids=VECTOR_IDS)
def test_a_non_canonical_s_is_refused(vector: Vector):
    """S + L is the same scalar mod L, so the equation still holds: only the rule S < L
    (RFC 8032, 5.1.7, step 1) refuses this malleated signature. OpenSSL refuses it too."""
    _, public, message, signature = vector.bytes()
    s = int.from_bytes(signature[32:], "little")
    assert s < L
    malleated = with_s(signature, s + L)
    assert not ed25519_verify(public, message, malleated)
    assert not openssl_accepts(public, message, malleated)
    assert not ed25519_verify(public, message, with_s(signature, L))
    assert not ed25519_verify(public, message, with_s(signature, 2**256 - 1))


def test_a_public_key_that_does_not_decode_is_refused():
    _, _, message, signature = RFC8032_VECTORS[0].bytes()
    # y = 2: (y² - 1) / (d·y² + 1) has no square root mod p, so no point has this y.
    not_on_curve = (2).to_bytes(32, "little")
    assert not ed25519_verify(not_on_curve, message, signature)
    assert not openssl_accepts(not_on_curve, message, signature)


def _secret_scalar(seed: bytes) -> int:
    """The clamped scalar a of a seed (RFC 8032, 5.1.5): public key = [a]B."""
    a = int.from_bytes(hashlib.sha512(seed).digest()[:32], "little")
    return (a & ((1 << 254) - 8)) | (1 << 254)


def _signature_with_neutral_r(seed: bytes, message: bytes, r_bytes: bytes) -> bytes:
    """A signature whose R is ``r_bytes``, an encoding of the neutral point: the equation
    [S]B = R + [h]A holds with S = h·a, whatever the encoding, once R decodes."""
    public = public_key_of_seed(seed)
    h = int.from_bytes(hashlib.sha512(r_bytes + public + message).digest(), "little") % L
    return r_bytes + (h * _secret_scalar(seed) % L).to_bytes(32, "little")


NEUTRAL = (1).to_bytes(32, "little")  # x = 0, y = 1


def test_a_point_encoded_non_canonically_is_refused():
    """RFC 8032, 5.1.3: decoding fails for y >= p and for x = 0 with the sign bit set. Here
    R is the neutral point, the one point whose discrete log is known, so the equation
    holds: only the decoding rule refuses the two non-canonical spellings of it."""
    seed, _, message, _ = RFC8032_VECTORS[2].bytes()
    public = public_key_of_seed(seed)
    canonical = _signature_with_neutral_r(seed, message, NEUTRAL)
    assert ed25519_verify(public, message, canonical)  # the control: the equation holds
    assert openssl_accepts(public, message, canonical)
    y_not_reduced = (P + 1).to_bytes(32, "little")  # y = p + 1 ≡ 1
    negative_zero = (1 | 1 << 255).to_bytes(32, "little")  # x = 0 with the sign bit
    for r_bytes in (y_not_reduced, negative_zero):
        assert not ed25519_verify(
            public, message, _signature_with_neutral_r(seed, message, r_bytes)
        ), r_bytes.hex()
        # The same encodings as a public key fail to decode too.
        assert not ed25519_verify(r_bytes, message, NEUTRAL + bytes(32))


SMALL_ORDER_KEYS = {
    "neutral (order 1)": NEUTRAL,
    "(0, -1) (order 2)": (P - 1).to_bytes(32, "little"),
    "(sqrt(-1), 0) (order 4)": bytes(32),
    "(-sqrt(-1), 0) (order 4)": (1 << 255).to_bytes(32, "little"),
}


@pytest.mark.parametrize("public", SMALL_ORDER_KEYS.values(), ids=SMALL_ORDER_KEYS.keys())
def test_a_public_key_of_small_order_is_refused(public: bytes):
    """The neutral point as a "key" with R = neutral, S = 0 satisfies the equation for every
    message, and OpenSSL accepts it. No seed derives such a key; a dossier pinned to one
    would prove nothing, so the verifier refuses every key of small order."""
    forged = NEUTRAL + bytes(32)
    assert openssl_accepts(NEUTRAL, "任何内容".encode(), forged)  # why the rule exists
    for message in (b"", b"MANIFEST", "任何内容".encode()):
        assert not ed25519_verify(public, message, forged)


def test_wrong_lengths_are_refused_not_raised():
    _, public, message, signature = RFC8032_VECTORS[2].bytes()
    assert not ed25519_verify(public[:31], message, signature)
    assert not ed25519_verify(public + b"\x00", message, signature)
    assert not ed25519_verify(public, message, signature[:63])
    assert not ed25519_verify(public, message, signature + b"\x00")
    assert not ed25519_verify(b"", message, b"")


# ---------------------------------------------------------------------- against OpenSSL

# Each verification is ~10 ms of pure Python: enough examples to mean something, no more.
RANDOM = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
seeds = st.binary(min_size=32, max_size=32)
messages = st.binary(max_size=300)


@RANDOM
@given(seed=seeds, message=messages)
def test_random_keys_and_messages_signed_by_openssl_verify(seed: bytes, message: bytes):
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public = key.public_key().public_bytes_raw()
    assert public_key_of_seed(seed) == public
    assert ed25519_verify(public, message, key.sign(message))


@RANDOM
@given(
    seed=seeds,
    message=messages,
    part=st.sampled_from(["signature", "message", "key"]),
    data=st.data(),
)
def test_a_mutated_signature_message_or_key_is_refused_as_openssl_refuses_it(
    seed: bytes, message: bytes, part: str, data: st.DataObject
):
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public = key.public_key().public_bytes_raw()
    signature = key.sign(message)
    if part == "message" and not message:
        part = "signature"
    target = {"signature": signature, "message": message, "key": public}[part]
    bit = data.draw(st.integers(0, len(target) * 8 - 1), label="bit")
    mutated = {part: flip(target, bit)}
    args = (
        mutated.get("key", public),
        mutated.get("message", message),
        mutated.get("signature", signature),
    )
    assert not ed25519_verify(*args)
    assert not openssl_accepts(*args)


@RANDOM
@given(seed=seeds, message=messages, other=messages)
def test_a_signature_does_not_verify_another_message(seed: bytes, message: bytes, other: bytes):
    key = Ed25519PrivateKey.from_private_bytes(seed)
    public = key.public_key().public_bytes_raw()
    signature = key.sign(message)
    assert ed25519_verify(public, other, signature) == (other == message)
