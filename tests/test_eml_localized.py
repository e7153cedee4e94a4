"""Localized reply headers, one fixture each, through the real analysis step."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gateway.forward import unwrap_text
from gateway.html_text import html_to_text
from gateway.reply import split_reply
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


def test_russian_gmail_reply_folds_the_date_name_address_header_in_text_and_html() -> None:
    c = analysed_fixture("russian-gmail-header.eml").content
    assert c.text == "Да, договор подпишем в среду утром."
    assert c.quoted_text.startswith("пн, 2 мар. 2026 г. в 18:01, Bo Berg <bo@example.com>:")
    assert c.quoted_text.endswith("> Нам нужно успеть до конца недели.")
    assert c.html is not None and html_to_text(c.html) == "Да, договор подпишем в среду утром."
    assert "gmail_quote" not in c.html and "подписать договор" not in c.html


def test_russian_koi8r_thunderbird_reply_is_decoded_and_folds_the_pishet_header() -> None:
    """Thunderbird's Russian header has no address: "<dd.mm.yyyy hh:mm>, <name> пишет:"."""
    c = analysed_fixture("russian-thunderbird-pishet.eml").content
    assert (c.subject, c.author.name) == ("Re: Отчёт за февраль", "Игорь Волков")
    assert c.text == "Отчёт готов, пришлю его сегодня до обеда."
    assert c.signature == "--\nИгорь Волков"
    assert c.quoted_text.startswith("02.03.2026 18:01, Bo Berg пишет:\n> Игорь, как там отчёт за февраль?")


def test_ukrainian_reply_folds_the_pyshe_header() -> None:
    c = analysed_fixture("ukrainian-pyshe.eml").content
    assert c.text == "Так, у четвер о десятій мені зручно."
    assert c.quoted_text.startswith("пн, 2 бер. 2026 р. о 18:01 Bo Berg <bo@example.com> пише:")
    assert c.quoted_text.endswith("> Почнемо о десятій.")


def test_czech_reply_folds_the_odesilatel_napsal_header_and_splits_off_s_pozdravem() -> None:
    c = analysed_fixture("czech-napsal.eml").content
    assert c.subject == "Odp: Faktura za únor"
    assert c.text == "Faktura je zaplacená, peníze by měly dorazit zítra."
    assert c.signature == "S pozdravem\nJana Nováková"
    assert c.quoted_text.startswith("po 2. 3. 2026 v 18:01 odesílatel Bo Berg <bo@example.com> napsal:")


def test_hungarian_base64_reply_folds_the_ezt_irta_idopont_header() -> None:
    c = analysed_fixture("hungarian-irta.eml").content
    assert c.text == "Rendben, csütörtökön délelőtt aláírom a szerződést."
    assert c.quoted_text.startswith("Bo Berg <bo@example.com> ezt írta (időpont: 2026. márc. 2., H, 18:01):")
    assert c.quoted_text.endswith("> Pénteken már nem leszek az irodában.")


def test_finnish_latin1_reply_folds_the_kirjoitti_header_with_its_parenthesised_address() -> None:
    c = analysed_fixture("finnish-kirjoitti.eml").content
    assert c.text == "Kiitos, lähetän laskun huomenna aamupäivällä."
    assert c.quoted_text.startswith("ma 2. maalisk. 2026 klo 18.01 Bo Berg (bo@example.com) kirjoitti:")
    assert c.quoted_text.endswith("> Kirjanpitäjä tarvitsee sen perjantaihin mennessä.")


def test_norwegian_reply_folds_the_skrev_header_and_splits_off_mvh() -> None:
    c = analysed_fixture("norwegian-skrev.eml").content
    assert c.text == "Jeg legger nøklene i postkassen før klokka åtte i morgen."
    assert c.signature == "Mvh\nIngrid"
    assert c.quoted_text.startswith("man. 2. mar. 2026 kl. 18:01 skrev Bo Berg <bo@example.com>:")


def test_turkish_gmail_reply_folds_the_tarihinde_sunu_yazdi_header_in_text_and_html() -> None:
    c = analysed_fixture("turkish-yazdi.eml").content
    assert c.text == "Tamam, perşembe saat onda toplantı odasında olacağım."
    assert c.quoted_text.startswith("Bo Berg <bo@example.com>, 2 Mar 2026 Pzt, 18:01 tarihinde şunu yazdı:")
    assert c.html is not None and html_to_text(c.html) == "Tamam, perşembe saat onda toplantı odasında olacağım."
    assert "gmail_quote" not in c.html and "katılabilir misin" not in c.html


def test_greek_gmail_reply_folds_the_egrapse_header_in_text_and_html() -> None:
    c = analysed_fixture("greek-egrapse.eml").content
    assert c.text == "Ναι, ο εξοπλισμός θα παραδοθεί την Πέμπτη το πρωί."
    assert c.quoted_text.startswith("Στις Δευ 2 Μαρ 2026 στις 18:01, ο/η Bo Berg <bo@example.com> έγραψε:")
    assert c.html is not None and html_to_text(c.html) == "Ναι, ο εξοπλισμός θα παραδοθεί την Πέμπτη το πρωί."
    assert "gmail_quote" not in c.html and "εγκατάσταση" not in c.html


def test_korean_gmail_reply_folds_the_nimi_jakseong_header_in_text_and_html() -> None:
    """Newer Gmail marks the quote `gmail_quote gmail_quote_container`."""
    c = analysed_fixture("korean-header.eml").content
    assert c.text == "네, 목요일 오전 10시 회의에 참석하겠습니다."
    assert c.quoted_text.startswith("2026년 3월 2일 (월) 오후 6:01, Bo Berg <bo@example.com>님이 작성:")
    assert c.html is not None and html_to_text(c.html) == "네, 목요일 오전 10시 회의에 참석하겠습니다."
    assert "gmail_quote" not in c.html and "참석 가능한지" not in c.html


def test_korean_thunderbird_reply_folds_the_i_ga_sseun_geul_header() -> None:
    """Thunderbird's Korean "<date>에 <name> 이(가) 쓴 글:" has no address and no word mailfeed knew: it stayed
    as the answer's last line (kernel lists carry it, the year written out or in two digits)."""
    c = analysed_fixture("thunderbird-korean-i-ga-sseun-geul.eml").content
    assert c.text == "확인했습니다. 재시도 횟수는 3회면 충분해 보입니다.\n다음 버전에서 로그 메시지만 정리해 주세요."
    assert c.quoted_text.startswith("2026-03-02 오후 6:01에 Bo Berg 이(가) 쓴 글:\n> The flush can time out")
    parts = split_reply("좋습니다.\n\n26. 3. 2. 오후 6:01에 Bo Berg 이(가) 쓴 글:\n> 내일 배포할까요?\n")
    assert parts.text == "좋습니다." and parts.quoted_text.startswith("26. 3. 2.")


def test_hebrew_gmail_reply_folds_the_header_wrapped_in_bidi_marks_in_text_and_html() -> None:
    """Gmail embeds the header right-to-left (U+202B … U+202C) and the name and address left-to-right."""
    header = (
        "\u202bבתאריך יום ב׳, 2 במרץ 2026 ב-18:01 מאת "
        "\u202aBo Berg\u202c\u200f <\u202abo@example.com\u202c\u200f>:\u202c"
    )
    c = analysed_fixture("hebrew-header.eml").content
    assert c.text == "כן, ההזמנה נשלחה לספק הבוקר."
    assert c.quoted_text.startswith(header)
    assert c.html is not None and html_to_text(c.html) == "כן, ההזמנה נשלחה לספק הבוקר."
    assert "gmail_quote" not in c.html and "הזמנת הציוד" not in c.html


def test_romanian_reply_folds_the_a_scris_header() -> None:
    c = analysed_fixture("romanian-a-scris.eml").content
    assert c.text == "Da, oferta a plecat către client azi-dimineață."
    assert c.quoted_text.startswith("În lun., 2 mar. 2026 la 18:01, Bo Berg <bo@example.com> a scris:")
    assert c.quoted_text.endswith("> Ne-a întrebat de ea vineri.")


def test_chinese_big5_reply_is_decoded_and_folds_the_taiwan_xiedao_header() -> None:
    c = analysed_fixture("chinese-traditional-xiedao.eml").content
    assert (c.subject, c.author.name) == ("回覆：報價單", "陳怡君")
    assert c.text == "好的，我明天中午前把報價單寄給你。"
    assert c.quoted_text.startswith("Bo Berg <bo@example.com> 於 2026年3月2日 週一 下午6:01寫道：")
    assert c.quoted_text.endswith("> 客戶希望這週內收到。")


def test_japanese_shift_jis_outlook_reply_is_decoded_and_folds_the_sashidashinin_block_in_text_and_html() -> None:
    c = analysed_fixture("japanese-outlook-field-block.eml").content
    assert (c.subject, c.author.name) == ("RE: お見積りについて", "佐藤 健")
    assert c.text == "承知しました。金曜日までにお見積りをお送りします。"
    assert c.quoted_text.startswith("差出人: Bo Berg <bo@example.com>\n送信日時: 2026年3月2日 18:01\n宛先:")
    assert c.html is not None and html_to_text(c.html) == "承知しました。金曜日までにお見積りをお送りします。"
    assert "送信日時" not in c.html and "いただけますか" not in c.html


def test_german_outlook_html_reply_folds_the_von_gesendet_block_and_splits_off_viele_gruesse() -> None:
    c = analysed_fixture("german-outlook-html-von-gesendet.eml").content
    assert c.subject == "AW: Lieferung für Kunde Meyer"
    assert c.text == "Ja, die Lieferung geht morgen früh raus."
    assert c.signature == "Viele Grüße\nJonas"
    assert c.quoted_text.startswith("Von: Bo Berg <bo@example.com>\nGesendet: Montag, 2. März 2026 18:01")
    assert c.html is not None and html_to_text(c.html) == "Ja, die Lieferung geht morgen früh raus."
    assert "Gesendet:" not in c.html and "diese Woche rausgeht" not in c.html


@pytest.mark.parametrize(
    ("name", "answer", "header", "quoted"),
    [
        # Yahoo's German attribution ends in "Folgendes geschrieben:"; it stayed as the text's last line
        (
            "yahoo-german-folgendes-geschrieben.eml",
            "Ja, ich starte ihn nach 20 Uhr neu",
            "Folgendes geschrieben:",
            "der Staging-Server",
        ),
        # Apple Mail's Japanese "…のメール:" above a quote of fifteen lines: the whole quote stayed in the text
        (
            "apple-mail-japanese-no-meru-bottom-posted.eml",
            "はい、20時以降に再実行",
            "のメール:",
            "ステージングサーバー",
        ),
        # Apple Mail's Polish "Wiadomość napisana przez … w dniu …, o godz. 09:12:"
        (
            "apple-mail-polish-napisana-przez-bottom-posted.eml",
            "Tak, uruchomię go ponownie",
            "napisana przez",
            "serwer testowy",
        ),
        # Thunderbird's Hebrew "בתאריך …, Bo Berg כתב:"
        ("thunderbird-hebrew-katav-bottom-posted.eml", "כן, אריץ שוב אחרי 20:00", "כתב:", "שרת הבדיקות"),
        # Zimbra's German "----- Ursprüngliche Mail -----" above its quoted fields
        (
            "zimbra-german-urspruengliche-mail-bottom-posted.eml",
            "Ja, ich starte ihn nach 20 Uhr neu",
            "Ursprüngliche Mail",
            "Staging-Server",
        ),
        # Samsung's Swedish and Outlook's Traditional Chinese "original message" lines stayed at the text's end
        (
            "samsung-swedish-originalmeddelande.eml",
            "Ja, jag kör om den efter 20.00",
            "Originalmeddelande",
            "teststservern",
        ),
        ("outlook-traditional-chinese-original-message.eml", "好的，我晚上八點後重新執行", "原始郵件", "測試伺服器"),
        # The Bat! quotes with the author's initials ("BB> "): the header was found, the quote not, and the
        # answer below it was folded away with it
        (
            "thebat-initials-quoting-russian-bottom-posted.eml",
            "Да, перезапущу после 20:00",
            "Вы писали",
            "Тестовый сервер",
        ),
    ],
)
def test_attributions_and_separators_of_more_clients_start_the_history(
    name: str, answer: str, header: str, quoted: str
) -> None:
    c = analysed_fixture(name).content
    assert answer in c.text
    assert header not in c.text and quoted not in c.text
    assert header in c.quoted_text and quoted in c.quoted_text


def test_initials_quoting_inline_keeps_the_answers_and_marks_the_quotes() -> None:
    """The Bat!'s "BB> " lines are quotes: the answers between them are the author's."""
    c = analysed_fixture("thebat-initials-quoting-inline.eml").content
    assert "Yes, I'll rerun it after 20:00." in c.text
    assert "No, the old volume can go." in c.text
    assert c.signature.startswith("--\nBest regards,")


@pytest.mark.parametrize(
    "header",
    [
        # Gmail wraps a long attribution before the address, or inside the date
        "ср, 19 лют. 2025 р. о 17:56 Андрій Шевченко\n<andrii@example.ua> пише:",
        "uto, 6. lip 2023. u 09:14 Ivan Kovačić\n<ivan@example.hr> napisao je:",
        "trešd., 2022. g. 2. febr., plkst. 21:13 — lietotājs Jānis Kalniņš\n(<janis@example.lv>) rakstīja:",
        "2019년 7월 25일 (목) 오후 11:19, 박민수\n<minsu@example.kr>님이 작성:",
        "Szabó Péter <peter@example.hu> ezt írta (időpont: 2022. okt.\n12., Sze, 16:52):",
        "Iñaki Agirre <inaki@example.eus> igorleak hau idatzi zuen (2022 ira. 28,\naz. 10:15):",
        # Thunderbird's Basque, Icelandic and Norwegian
        "Bok idatzi zuen:",
        "Þann 2.3.2026 18:01, skrifaði Bo Berg:",
        "skrev Ola Hansen:",
        # Japanese clients' name-only attribution, the honorific apart from the name or joined to it
        "佐藤 花子 さんは書きました:",
        "山田さんは書きました：",
    ],
)
def test_more_languages_attributions_fold_with_their_quote(header: str) -> None:
    """Found by writing replies as Gmail and Thunderbird write them in 30 languages: these stayed
    in the answer (wrapped, the attribution's first line alone), or kept the whole quote there."""
    quote = "> Can you check it?"
    for body in (f"Sounds good.\n\n{header}\n{quote}\n", f"{header}\n{quote}\n\nSounds good.\n"):
        parts = split_reply(body)
        assert parts.text == "Sounds good." and parts.quoted_text.endswith(quote), body


@pytest.mark.parametrize(
    "separator",
    [
        "-------- Alkuperäinen viesti / Orig.Msg. --------",
        "-------- Originalus laiškas --------",
        "-------- Upprunalegur póstur --------",
        "-------- Jatorrizko mezua --------",
    ],
)
def test_thunderbirds_original_message_lines_in_more_languages_start_the_history(separator: str) -> None:
    parts = split_reply(f"Sounds good.\n\n{separator}\nSubject: Plan\nDate: 02.03.2026 18:01\n\nCan you check it?\n")
    assert parts.text == "Sounds good." and parts.quoted_text.startswith(separator)


def test_thunderbirds_slovak_forward_and_apple_mails_quoted_hungarian_forward_are_unwrapped() -> None:
    slovak = (
        "Posielam ďalej.\n\n-------- Preposlaná správa --- Forwarded Message --------\n"
        "Predmet: \tRozpočet\nDátum: \tWed, 3 Nov 2026 15:51:30 +0100\nOd: \tJana Nová <jana@example.sk>\n"
        "Pre: \tteam@example.com\n\n\nRozpočet je schválený.\n"
    )
    found = unwrap_text(slovak, subject="Fwd: Rozpočet")
    assert found is not None and found.author.address == "jana@example.sk" and found.subject == "Rozpočet"
    assert found.date is not None and found.date.day == 3
    assert found.note == "Posielam ďalej." and found.text.strip() == "Rozpočet je schválený."
    hungarian = (
        "Nézd meg.\n\n> Továbbított levél kezdete:\n> \n> Feladó: Kiss Anna <anna@example.hu>\n"
        "> Tárgy: Költségvetés\n> Dátum: 2026. március 2. 18:01:00 CET\n> Címzett: team@example.com\n> \n"
        "> A költségvetés kész.\n"
    )
    found = unwrap_text(hungarian, subject="Fwd: Költségvetés")
    assert found is not None and found.author.address == "anna@example.hu" and "kész" in found.text


@pytest.mark.parametrize("closing", ["Üdv,", "Hvala,", "S pozdravom,", "Kveðja,", "Дякую,", "Teşekkürler,"])
def test_short_closings_in_more_languages_start_the_signature(closing: str) -> None:
    parts = split_reply(f"The report is ready.\n\n{closing}\nAna")
    assert (parts.text, parts.signature) == ("The report is ready.", f"{closing}\nAna")


@pytest.mark.parametrize(
    "separator",
    [
        "-----邮件原件-----",  # Outlook in Simplified Chinese
        "-----원본 메시지-----",  # Outlook in Korean
        "------------------ Original ------------------",  # QQ Mail's app
        "------------------\xa0Original\xa0------------------",
    ],
)
def test_chinese_and_korean_original_message_lines_start_the_history(separator: str) -> None:
    """The line stayed as the last of the answer (and the replier's signature above it with it)."""
    body = f"好的，没问题。\n\n{separator}\n发件人: 李明 <liming@example.cn>\n主题: 采购计划\n\n请查收附件。\n"
    parts = split_reply(body)
    assert parts.text == "好的，没问题。" and parts.quoted_text.startswith(separator.strip())


def test_old_owas_traditional_chinese_block_is_history() -> None:
    """ "從:" and "至:" (old Outlook Web Access in Traditional Chinese) were no field labels: the whole
    original went into the replier's signature."""
    body = (
        "志明您好，\n\n第 12 頁的價格已經更新。\n\n林怡君\n業務部\n\n________________________________________\n"
        "從: 陳志明 [chen.cm@example.com.tw]\n寄件日期: 2026年3月2日 上午 09:12\n至: 林怡君\n主旨: 新版型錄校稿\n\n"
        "怡君您好，\n\n附件是新版型錄的校稿。\n"
    )
    parts = split_reply(body)
    assert parts.quoted_text.startswith("________________________________________\n從: 陳志明")
    assert "附件是新版型錄的校稿" not in parts.text + parts.signature


def test_korean_and_chinese_forward_dates_are_read() -> None:
    """Apple Mail's Korean and Chinese forwards label the date "날짜:" and "日期:", and Korean writes
    the time in words ("오전 9시 12분 0초"): the forwarded post had no date, or midnight."""
    text = (
        "확인 부탁드립니다.\n\n전달된 메일:\n\n보낸 사람: 박지훈 <jihoon@example.kr>\n제목: 배포 일정\n"
        "날짜: 2026년 3월 2일 오후 3시 12분 0초 GMT+9\n받는 사람: 김수연 <sooyeon@example.kr>\n\n"
        "다음 주 화요일에 배포합니다.\n"
    )
    found = unwrap_text(text, subject="Fwd: 배포 일정")
    assert found is not None and found.author.address == "jihoon@example.kr"
    assert found.date == datetime(2026, 3, 2, 15, 12, tzinfo=timezone(timedelta(hours=9)))
    chinese = text.replace("날짜:", "日期:")
    assert unwrap_text(chinese, subject="Fwd: 배포 일정").date == found.date  # type: ignore[union-attr]


def test_thunderbirds_french_message_original_separator_starts_the_history() -> None:
    """The separator and the "Sujet :" field below it stayed as the answer's last lines: only the fields
    from "Date :" on were read as the history's header."""
    c = analysed_fixture("thunderbird-french-message-original-separator.eml").content
    assert c.text.endswith("Le port compile chez moi aussi depuis ce matin.\n\nBrice")
    assert c.quoted_text.startswith("-------- Message original --------\nSujet : \tRE: Compilation sous Windows")


@pytest.mark.parametrize(
    "separator",
    [
        # Thunderbird's "original message" line in the languages it speaks that were unknown
        "-------- Missatge original --------",
        "-------- Mesajul original --------",
        "-------- Pôvodná správa --- Original Message --------",
        "-------- Izvirno sporočilo --------",
        "-------- Izvorna poruka --------",
        "-------- Treść oryginalnej wiadomości --------",
        "-------- Pesan Asli --------",
        "-------- Thư Gốc --------",
        "-------- Початкове повідомлення --------",
        "-------- Оригинално писмо --------",
        "-------- الرسالة الأصليَّة --------",
        "-------- मूल संदेश --------",
        "-------- 原始消息 --------",
    ],
)
def test_thunderbirds_original_message_lines_in_its_other_languages_start_the_history(separator: str) -> None:
    fields = "Subject: \tPlan\nDate: \t02.03.2026 18:01\nFrom: \tBo <bo@example.com>"
    body = f"Sounds good.\n\n{separator}\n{fields}\n\nOK?\n"
    parts = split_reply(body)
    assert parts.text == "Sounds good." and parts.quoted_text.startswith(separator)


@pytest.mark.parametrize(
    "header",
    [
        # Thunderbird's "On <date> <time>, <author> wrote:" in Belarusian, Welsh, Frisian, Irish, Galician,
        # Nynorsk, Albanian, and its Chinese "<author> wrote on <date> <time>:"
        "2.3.2026 у 18:01 Bo Berg напісаў:",
        "Ar 2.3.2026 18:01, ysgrifennodd Bo Berg:",
        "Op 2.3.2026 om 18:01, skreau Bo Berg:",
        "Ar 2.3.2026 18:01, scríobh Bo Berg:",
        "O 2.3.2026 ás 18:01, Bo Berg escribiu:",
        "Den 2.3.2026 18:01, Bo Berg skreiv:",
        "Më 2.3.2026, 18:01, Bo Berg shkroi:",
        "Bo Berg 写于 2026/3/2 18:01:",
    ],
)
def test_thunderbirds_attribution_in_more_of_its_languages_folds_with_its_quote(header: str) -> None:
    parts = split_reply(f"Sounds good.\n\n{header}\n> Can you check it?\n")
    assert parts.text == "Sounds good." and parts.quoted_text.startswith(header)
