import pytest

from paretohqd.text import (
    clean_generation,
    cut_at_stops,
    is_collapsed,
    is_degenerate,
    is_echo,
    repeated_ngram,
    trim_to_sentence,
)


def test_cut_at_the_first_stop_marker():
    assert cut_at_stops("Sure, here it is.\n\nHuman: and now?", ("\n\nHuman:", "<|im_end|>")) == "Sure, here it is."
    assert cut_at_stops("No marker here ", ("\n\nHuman:",)) == "No marker here"


@pytest.mark.parametrize(
    ("text", "trimmed"),
    [
        ("It is blue. The sky is clear and", "It is blue."),
        ('He said "go!" and then', 'He said "go!"'),
        ("Done? Yes. Maybe", "Done? Yes."),
        ("Version 2.5 is out and", None),
        ("no sentence end at all", None),
        ("Complete sentence.", "Complete sentence."),
    ],
)
def test_trim_to_the_last_complete_sentence(text, trimmed):
    assert trim_to_sentence(text) == trimmed


def test_degenerate_outputs():
    assert is_degenerate("")
    assert is_degenerate("   ")
    assert is_degenerate("?!?!")
    assert is_degenerate("Great!!!!!!!! really")
    assert not is_degenerate("A normal answer, with punctuation!")


def test_collapse_rule_short_or_repetitive():
    assert is_collapsed("Yes.")
    assert is_collapsed("I am here. I am here. I am here.")
    assert repeated_ngram("the cat sat the cat sat the cat sat")
    assert not is_collapsed("The cat sat on the mat, then the cat slept.")


def test_echoes_of_the_prompt():
    assert is_echo("i saw the matrix", "I saw the Matrix.")
    assert is_echo("electricity", "electricity")
    assert not is_echo("Islamabad is the capital of which country?", "Islamabad is the capital of Pakistan.")


def test_generations_are_cut_at_stops_trimmed_when_capped_and_dropped_when_unusable():
    assert clean_generation("q", " Fine, thanks.\n\nHuman: and you", True, ("\n\nHuman:",)) == "Fine, thanks."
    assert clean_generation("q", "It is blue. The sky is", True) == "It is blue."
    assert clean_generation("q", "It is blue. The sky is", False) == "It is blue. The sky is"
    assert clean_generation("q", "no sentence end", True) is None
    assert clean_generation("hello there", "Hello there!", False) is None
    assert clean_generation("q", "!!!!!!!", False) is None
