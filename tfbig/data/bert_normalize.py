"""BERT's text normalisation and word splitting as TensorFlow ops, matching Hugging Face `BertTokenizerFast`.

The steps and their order are those of the `tokenizers` BertNormalizer + BertPreTokenizer:
1. drop control and format characters (Unicode C*, but not tab/newline/CR), NUL and U+FFFD;
2. strip accents: NFD, then drop non-spacing marks (Mn);
3. lower-case character by character (no final-sigma rule: "Σ" is always "σ");
4. split on whitespace, and isolate each punctuation character (Unicode P* and all ASCII punctuation)
   and each CJK ideograph as a word of its own.
A word longer than 100 characters becomes "[UNK]", as WordPiece's `max_input_chars_per_word` does.

One known difference: unassigned code points (Cn) are dropped by Hugging Face but kept here (RE2 has no
Cn class); they do not occur in real text, and each side's Unicode tables may disagree on them anyway.
"""
from tfbig._keras import tf
import tensorflow_text as tf_text

# Cc except \t \n \r; Cf (zero-width, BOM, soft hyphen...); Co (private use); NUL and U+FFFD.
CONTROL = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F\p{Cf}\p{Co}\x{FFFD}]"
# White_Space characters that survive CONTROL (\x0B, \x0C, \x85 and \x1C-\x1F are C* and already gone).
WHITESPACE = r"[\t\n\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}]"
PUNCTUATION = r"[\pP!-/:-@\[-`{-~]"
# The CJK ideograph ranges tokenizers' BertNormalizer isolates; its fifth range starts at U+2B920, not
# U+2B820 as in Google's BERT, so U+2B820-U+2B91F stay inside words as Hugging Face leaves them.
CJK = (r"[\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B73F}\x{2B740}-\x{2B81F}"
       r"\x{2B920}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}]")
MAX_CHARS_PER_WORD = 100


def normalize(texts, lower_case: bool = True, strip_accents: bool = True):
    """(B,) UTF-8 strings -> (B,) strings cleaned, accent-stripped and lower-cased as BERT's normaliser does."""
    texts = tf.strings.regex_replace(texts, CONTROL, "")
    if strip_accents:
        texts = tf.strings.regex_replace(tf_text.normalize_utf8(texts, "NFD"), r"\p{Mn}", "")
    if lower_case:
        # ICU lower-cases a word-final capital sigma to "ς"; tokenizers (Rust, per character) gives "σ".
        texts = tf.strings.lower(tf.strings.regex_replace(texts, "Σ", "σ"), encoding="utf-8")
    return texts


def split_words(texts, unknown_token: str = "[UNK]"):
    """(B,) normalised strings -> ragged (B, None) words; punctuation and CJK characters stand alone."""
    words = tf_text.regex_split(texts, f"{WHITESPACE}|{PUNCTUATION}|{CJK}", f"{PUNCTUATION}|{CJK}")
    too_long = tf.strings.length(words.flat_values, unit="UTF8_CHAR") > MAX_CHARS_PER_WORD
    return words.with_flat_values(tf.where(too_long, unknown_token, words.flat_values))
