"""Localized reply headers, one fixture each, through the real analysis step."""

from __future__ import annotations

from tests.helpers import analysed_fixture


def test_french_gmail_reply_keeps_the_answer_and_folds_the_a_ecrit_header() -> None:
    c = analysed_fixture("french-a-ecrit.eml").content
    assert c.text == "Parfait, je réserve la salle Fleurus pour jeudi à 10 h."
    assert c.signature == "Cordialement,\nClaire"
    assert c.quoted_text.startswith("Le lun. 2 mars 2026 à 18:01, Bo Berg <bo@example.com> a écrit :")
    assert c.html is not None and "je réserve la salle Fleurus" in c.html
    assert "gmail_quote" not in c.html and "Pouvez-vous" not in c.html


def test_spanish_reply_folds_the_escribio_header_with_its_parenthesised_address() -> None:
    c = analysed_fixture("spanish-escribio.eml").content
    assert c.text == "Sí, el presupuesto está aprobado. Podéis empezar el lunes."
    assert c.quoted_text.startswith("El lun, 2 mar 2026 a las 18:01, Bo Berg (<bo@example.com>) escribió:")
    assert c.quoted_text.endswith("> Necesitamos saberlo antes del viernes.")


def test_dutch_gmail_reply_folds_the_schreef_header_in_text_and_html() -> None:
    c = analysed_fixture("dutch-schreef.eml").content
    assert c.text == "Prima, ik stuur de offerte morgen voor twaalf uur."
    assert c.quoted_text.startswith("Op ma 2 mrt 2026 om 18:01 schreef Bo Berg <bo@example.com>:")
    assert c.html is not None and "ik stuur de offerte morgen" in c.html
    assert "gmail_quote" not in c.html and "Kun je de offerte" not in c.html


def test_swedish_reply_folds_the_skrev_header() -> None:
    c = analysed_fixture("swedish-skrev.eml").content
    assert c.text == "Tack, jag kommer på fredag och tar med nycklarna."
    assert c.quoted_text.startswith("Den mån 2 mars 2026 kl 18:01 skrev Bo Berg <bo@example.com>:")
    assert c.quoted_text.endswith("> Vi behöver nycklarna tillbaka.")


def test_danish_reply_folds_the_skrev_header_and_splits_off_med_venlig_hilsen() -> None:
    c = analysed_fixture("danish-skrev.eml").content
    assert c.text == "Det lyder godt. Jeg sender tegningerne i morgen tidlig."
    assert c.signature == "Med venlig hilsen\nMads"
    assert c.quoted_text.startswith("Den man. 2. mar. 2026 kl. 18.01 skrev Bo Berg <bo@example.com>:")


def test_polish_gmail_reply_folds_the_napisal_header_and_splits_off_pozdrawiam() -> None:
    c = analysed_fixture("polish-napisal.eml").content
    assert c.text == "Dziękuję, faktura jest już opłacona."
    assert c.signature == "Pozdrawiam,\nKatarzyna"
    assert c.quoted_text.startswith("W dniu pon., 2 mar 2026 o 18:01 Bo Berg <bo@example.com> napisał(a):")
    assert c.html is not None and "faktura jest już opłacona" in c.html
    assert "gmail_quote" not in c.html and "Księgowość" not in c.html


def test_portuguese_reply_folds_the_escreveu_header() -> None:
    c = analysed_fixture("portuguese-escreveu.eml").content
    assert c.text == "Combinado, envio o relatório até quarta-feira."
    assert c.quoted_text.startswith("Em seg., 2 de mar. de 2026 às 18:01, Bo Berg <bo@example.com> escreveu:")
    assert c.quoted_text.endswith("> A diretoria quer revisar na quinta.")


def test_italian_latin1_reply_folds_the_ha_scritto_header() -> None:
    """Gmail sends ISO-8859-1 when the text fits it."""
    c = analysed_fixture("italian-ha-scritto.eml").content
    assert c.text == "Va bene, ci vediamo giovedì alle dieci."
    assert c.quoted_text.startswith("Il giorno lun 2 mar 2026 alle ore 18:01 Bo Berg <bo@example.com> ha scritto:")
    assert c.quoted_text.endswith("> Martedì non ci sono tutti.")


def test_japanese_iso_2022_jp_reply_is_decoded_and_folds_the_date_name_header() -> None:
    """ISO-2022-JP is 7-bit, so its text part has no transfer encoding to undo: the charset still applies."""
    c = analysed_fixture("japanese-header.eml").content
    assert (c.subject, c.author.name) == ("Re: 打ち合わせの日程", "田中 陽翔")
    assert c.text == "承知しました。木曜日の打ち合わせに参加します。"
    assert c.quoted_text.startswith("2026年3月2日(月) 18:01 Bo Berg <bo@example.com>:")
    assert c.html is not None and "打ち合わせに参加します" in c.html
    assert "gmail_quote" not in c.html and "午前十時" not in c.html


def test_chinese_gbk_reply_is_decoded_and_folds_the_xiedao_header() -> None:
    c = analysed_fixture("chinese-xiedao.eml").content
    assert (c.subject, c.author.name) == ("回复：合同最终版本", "王芳")
    assert c.text == "好的，我明天上午把合同发给你。"
    assert c.quoted_text.startswith("在 2026年3月2日 18:01，Bo Berg <bo@example.com> 写道：")
    assert c.quoted_text.endswith("> 客户希望本周签字。")
