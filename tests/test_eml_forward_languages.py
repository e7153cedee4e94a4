"""Steps 3 to 6 on forwards written in other languages: each client's own marker, field names and date."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from gateway.forward import unwrap_text
from gateway.message import Address, Forward
from tests.helpers import analysed, analysed_fixture, html_only

OPS = Address("Ops Team", "ops@example.com")
CET = timezone(timedelta(hours=1))
BRT = timezone(timedelta(hours=-3))
JST = timezone(timedelta(hours=9))


def test_dutch_outlook_fw_reads_van_verzonden_aan_onderwerp_and_shows_the_originals_html() -> None:
    c = analysed_fixture("outlook-dutch-doorsturen.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "maandag 2 maart 2026 18:01", the forwarder's offset
        "Onderhoud VPN-server donderdag",
    )
    assert c.text == "Donderdag 5 maart tussen 21:00 en 22:00 krijgt de VPN-server een update."
    assert c.forward == Forward(
        by=Address("Sanne de Vries", "sanne@example.nl"),
        date=datetime(2026, 3, 2, 18, 27, 14, tzinfo=CET),
        note="Ter info, de VPN is donderdagavond een uur niet bereikbaar.",
    )
    assert c.html is not None
    assert "krijgt de VPN-server een update." in c.html
    assert "Verzonden:" not in c.html and "Ter info" not in c.html


def test_italian_outlook_i_forward_reads_da_inviato_a_oggetto_and_shows_the_originals_html() -> None:
    c = analysed_fixture("outlook-italian-inoltro.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "lunedì 2 marzo 2026 18:01", the forwarder's offset
        "Manutenzione ascensori venerdì",
    )
    assert c.text == "Venerdì 6 marzo gli ascensori della sede saranno fermi dalle 8 alle 12 per manutenzione."
    assert c.forward == Forward(
        by=Address("Marco Bianchi", "marco@example.it"),
        date=datetime(2026, 3, 2, 18, 9, 47, tzinfo=CET),
        note="Per conoscenza, venerdì mattina gli ascensori sono fermi.",
    )
    assert c.html is not None
    assert "saranno fermi dalle 8 alle 12 per manutenzione." in c.html
    assert "Inviato:" not in c.html and "Per conoscenza" not in c.html


def test_spanish_outlook_rv_reads_de_enviado_el_para_asunto_and_shows_the_originals_html() -> None:
    c = analysed_fixture("outlook-spanish-rv.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "lunes, 2 de marzo de 2026 18:01", the forwarder's offset
        "Corte de agua el miércoles",
    )
    assert c.text == "El miércoles 4 de marzo no habrá agua en la segunda planta de 9:00 a 11:00."
    assert c.forward == Forward(
        by=Address("Javier Ruiz", "javier@example.es"),
        date=datetime(2026, 3, 2, 18, 14, 52, tzinfo=CET),
        note="Os lo reenvío para que lo tengáis en cuenta.",
    )
    assert c.html is not None
    assert "no habrá agua en la segunda planta de 9:00 a 11:00." in c.html
    assert "Enviado el:" not in c.html and "Os lo reenvío" not in c.html


def test_brazilian_outlook_enc_reads_de_enviada_em_para_assunto_in_the_forwarders_minus_three_offset() -> None:
    c = analysed_fixture("outlook-portuguese-enc.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=BRT),  # "segunda-feira, 2 de março de 2026 18:01", the forwarder's offset
        "Troca do firewall na quinta-feira",
    )
    assert c.text == "Na quinta-feira, 5 de março, o firewall do escritório será trocado entre 22h e 23h."
    assert c.forward == Forward(
        by=Address("Rafael Souza", "rafael@example.com.br"),
        date=datetime(2026, 3, 2, 18, 31, 5, tzinfo=BRT),
        note="Pessoal, fiquem atentos à janela de manutenção.",
    )
    assert c.html is not None
    assert "o firewall do escritório será trocado entre 22h e 23h." in c.html
    assert "Enviada em:" not in c.html and "Pessoal" not in c.html


def test_polish_outlook_pd_reads_od_wyslano_do_temat_and_the_genitive_month_marca() -> None:
    c = analysed_fixture("outlook-polish-pd.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "poniedziałek, 2 marca 2026 18:01", the forwarder's offset
        "Przegląd klimatyzacji w serwerowni",
    )
    assert c.text == "W środę 4 marca w godzinach 10:00-12:00 serwis przeprowadzi przegląd klimatyzacji w serwerowni."
    assert c.forward == Forward(
        by=Address("Tomasz Nowak", "tomasz@example.pl"),
        date=datetime(2026, 3, 2, 18, 40, 21, tzinfo=CET),
        note="Przesyłam do wiadomości, w środę serwerownia będzie otwarta dla serwisu.",
    )
    assert c.html is not None
    assert "serwis przeprowadzi przegląd klimatyzacji w serwerowni." in c.html
    assert "Wysłano:" not in c.html and "Przesyłam" not in c.html


def test_swedish_outlook_vb_reads_fran_skickat_till_amne_and_the_den_date() -> None:
    c = analysed_fixture("outlook-swedish-vb.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "den 2 mars 2026 18:01", the forwarder's offset
        "Nytt lösenord för gästnätverket",
    )
    assert c.text == "Gästnätverket får ett nytt lösenord på tisdag 3 mars. Det nya lösenordet finns i receptionen."
    assert c.forward == Forward(
        by=Address("Erik Lindqvist", "erik@example.se"),
        date=datetime(2026, 3, 2, 18, 5, 38, tzinfo=CET),
        note="FYI, lösenordet byts redan i morgon.",
    )
    assert c.html is not None
    assert "Det nya lösenordet finns i receptionen." in c.html
    assert "Skickat:" not in c.html and "FYI" not in c.html


def test_japanese_outlook_fw_reads_sashidashinin_soushin_nichiji_and_the_nen_gatsu_nichi_date() -> None:
    c = analysed_fixture("outlook-japanese-fw.eml").content
    assert (c.author, c.date, c.subject) == (
        Address("情報システム部", "it-info@example.co.jp"),
        datetime(2026, 3, 2, 18, 1, tzinfo=JST),  # "2026年3月2日 18:01", the forwarder's offset
        "3月4日 ネットワーク工事のお知らせ",
    )
    assert c.text == "3月4日（水）20:00から22:00までネットワーク工事を行います。工事中は社内システムに接続できません。"
    assert c.forward == Forward(
        by=Address("鈴木 一郎", "suzuki@example.co.jp"),
        date=datetime(2026, 3, 2, 18, 20, 33, tzinfo=JST),
        note="念のため転送します。工事中はVPNも使えません。",
    )
    assert c.html is not None
    assert "工事中は社内システムに接続できません。" in c.html
    assert "送信日時:" not in c.html and "念のため転送します" not in c.html


def test_german_thunderbird_weitergeleitete_nachricht_reads_the_tab_separated_betreff_datum_von_an() -> None:
    c = analysed_fixture("thunderbird-german-weitergeleitet.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "Mon, 2 Mar 2026 18:01:00 +0100", the original's Date
        "Stromabschaltung im Gebäude C",
    )
    assert c.text == "Der Strom im Gebäude C ist am Donnerstag, 5. März, von 7 bis 9 Uhr abgeschaltet."
    assert c.forward == Forward(
        by=Address("Katrin Vogel", "katrin@example.de"),
        date=datetime(2026, 3, 2, 18, 52, 16, tzinfo=CET),
        note="Zur Info für alle im Gebäude C.",
    )
    assert c.html is not None
    assert "von 7 bis 9 Uhr abgeschaltet." in c.html
    assert "Weitergeleitete Nachricht" not in c.html and "Datum:" not in c.html and "Zur Info" not in c.html


def test_french_apple_mail_debut_du_message_reexpedie_reads_de_objet_and_the_utc_plus_one_date() -> None:
    c = analysed_fixture("apple-french-debut-reexpedie.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "2 mars 2026 à 18:01:00 UTC+1"
        "Exercice incendie jeudi",
    )
    assert c.text == "Un exercice d’évacuation aura lieu jeudi 5 mars à 10 heures dans tout le bâtiment."
    assert c.forward == Forward(
        by=Address("Julien Petit", "julien@example.fr"),
        date=datetime(2026, 3, 2, 18, 36, 51, tzinfo=CET),
        note="Pour info, pensez à descendre par l’escalier B.",
    )
    assert c.html is not None
    assert "aura lieu jeudi 5 mars à 10 heures dans tout le bâtiment." in c.html
    assert "réexpédié" not in c.html and "Objet:" not in c.html and "Pour info" not in c.html


def test_spanish_apple_mail_inicio_del_mensaje_reenviado_reads_asunto_and_the_fecha_in_cet() -> None:
    c = analysed_fixture("apple-spanish-inicio-reenviado.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=CET),  # "2 de marzo de 2026, 18:01:00 CET"
        "Simulacro de incendio el jueves",
    )
    assert c.text == "El jueves 5 de marzo a las 10 habrá un simulacro de incendio en todo el edificio."
    assert c.forward == Forward(
        by=Address("Carmen Navarro", "carmen@example.es"),
        date=datetime(2026, 3, 2, 18, 44, 27, tzinfo=CET),
        note="Os lo paso por si no os ha llegado.",
    )
    assert c.html is not None
    assert "habrá un simulacro de incendio en todo el edificio." in c.html
    assert "Inicio del mensaje reenviado" not in c.html and "Fecha:" not in c.html and "Os lo paso" not in c.html


def test_japanese_gmail_forward_reads_the_nen_gatsu_nichi_date_with_its_weekday_in_the_forwarders_offset() -> None:
    c = analysed_fixture("gmail-japanese-forward.eml").content
    assert (c.author, c.date, c.subject) == (
        Address("総務部", "soumu@example.co.jp"),
        datetime(2026, 3, 2, 18, 1, tzinfo=JST),  # "2026年3月2日(月) 18:01", the forwarder's offset
        "健康診断の日程について",
    )
    assert c.text == "今年の健康診断は3月10日（火）に本社3階の会議室で行います。"
    assert c.forward == Forward(
        by=Address("田中 美咲", "tanaka@example.co.jp"),
        date=datetime(2026, 3, 2, 18, 25, 9, tzinfo=JST),
        note="皆さん、確認をお願いします。",
    )
    assert c.html is not None
    assert c.html.strip() == '<div dir="ltr">今年の健康診断は3月10日（火）に本社3階の会議室で行います。</div>'


def test_portuguese_gmail_mensagem_encaminhada_reads_de_and_the_abbreviated_date_in_the_forwarders_offset() -> None:
    c = analysed_fixture("gmail-portuguese-mensagem-encaminhada.eml").content
    assert (c.author, c.date, c.subject) == (
        OPS,
        datetime(2026, 3, 2, 18, 1, tzinfo=BRT),  # "seg., 2 de mar. de 2026 às 18:01", the forwarder's offset
        "Migração do servidor de arquivos",
    )
    assert c.text == "O servidor de arquivos será migrado na sexta-feira, 6 de março, a partir das 19h."
    assert c.forward == Forward(
        by=Address("Ana Costa", "ana.costa@example.com.br"),
        date=datetime(2026, 3, 2, 18, 33, 47, tzinfo=BRT),
        note="Segue para conhecimento de todos.",
    )
    assert c.html is not None
    assert c.html.strip() == (
        '<div dir="ltr">O servidor de arquivos será migrado na sexta-feira, 6 de março, a partir das 19h.</div>'
    )


def test_an_html_only_italian_outlook_forward_is_read_through_its_text_rendering() -> None:
    """quotequail reads no Italian fields in HTML either; without a text part the rendering's are mapped."""
    c = analysed(html_only("outlook-italian-inoltro.eml")).content
    assert (c.author, c.subject) == (OPS, "Manutenzione ascensori venerdì")
    assert c.text == "Venerdì 6 marzo gli ascensori della sede saranno fermi dalle 8 alle 12 per manutenzione."
    assert c.forward is not None and c.forward.note == "Per conoscenza, venerdì mattina gli ascensori sono fermi."
    assert c.html is not None and "Inviato:" not in c.html


def test_outlook_for_macs_forward_under_a_hungarian_attribution_is_unwrapped() -> None:
    """Outlook for Mac forwards under the header it replies with, in the user's language, and indents
    the original: the forwarder was shown as its author, and the original folded away as history."""
    c = analysed_fixture("outlook-mac-forward-hungarian-attribution.eml").content
    assert c.author == Address("Nagy Gábor", "gabor@partner.example")
    assert c.subject == "Szerződés tervezet"
    assert c.date is not None and (c.date.month, c.date.day, c.date.hour) == (11, 2, 16)
    assert c.text.startswith("Szia Éva,\n\nmellékelem a szerződés tervezetét")
    assert c.forward is not None and c.forward.note == "Továbbítom, kérlek nézzétek át péntekig."


def test_thunderbirds_vietnamese_forward_reads_tieu_de_ngay_tu_toi() -> None:
    """Thunderbird labels its forward's fields in the user's language; "Tiêu đề", "Ngày" and "Tới" were
    unknown, so the whole forward, header and all, was shown as the forwarder's text."""
    c = analysed_fixture("thunderbird-vietnamese-forward-tieu-de-ngay.eml").content
    ict = timezone(timedelta(hours=7))
    assert (c.author, c.date, c.subject) == (
        Address("Trần Văn Minh", "minh@example.vn"),
        datetime(2026, 3, 2, 18, 1, 12, tzinfo=ict),
        "Ngân sách quý hai",
    )
    assert c.text == "Chào Lan,\n\nNgân sách quý hai đã được duyệt, tổng cộng 120 triệu đồng.\n\nMinh"
    assert c.forward == Forward(
        by=Address("Nguyễn Thị Lan", "lan@example.vn"),
        date=datetime(2026, 3, 3, 8, 30, 5, tzinfo=ict),
        note="Mọi người xem giúp, hạn chót là thứ Sáu.",
    )


@pytest.mark.parametrize(
    ("marker", "subject", "date", "sender", "to"),
    [
        ("Pesan Terusan", "Subjek", "Tanggal", "Dari", "Kepada"),  # Indonesian: its date was lost
        ("رسالة ممرّرة", "الموضوع", "التاريخ", "مِن", "إلى"),  # Arabic: "مِن" carries its vowel mark
    ],
)
def test_thunderbirds_indonesian_and_arabic_forward_fields_are_read(
    marker: str, subject: str, date: str, sender: str, to: str
) -> None:
    body = (
        f"See below.\n\n\n-------- {marker} --------\n{subject}: \tBudget\n{date}: \tMon, 2 Mar 2026 18:01:12 +0100\n"
        f"{sender}: \tBo Berg <bo@example.com>\n{to}: \tAna Lima <ana@example.org>\n\n\n\nThe budget is approved.\n"
    )
    found = unwrap_text(body, subject="Fwd: Budget")
    assert found is not None and (found.author.address, found.subject) == ("bo@example.com", "Budget")
    assert found.date == datetime(2026, 3, 2, 18, 1, 12, tzinfo=CET)
    assert (found.note, found.text) == ("See below.", "The budget is approved.")


# Thunderbird's forward line in each language it ships whose words were unknown, as its composeMsgs.properties
# writes it (mailnews.forward_header_originalmessage); Polish frames it with three dashes
THUNDERBIRD_FORWARD_LINES = {
    "ru": "-------- Перенаправленное сообщение --------",
    "be": "-------- Перанакіраванае паведамленне --------",
    "uk": "-------- Переслане повідомлення --------",
    "bg": "-------- Препратено писмо --------",
    "vi": "-------- Tin nhắn đã được chuyển tiếp --------",
    "tr": "-------- İletilen İleti --------",
    "ar": "-------- رسالة ممرّرة --------",
    "ca": "-------- Missatge reenviat --------",
    "gl": "-------- Mensaxe reenviada --------",
    "pt-PT": "-------- Mensagem reencaminhada --------",
    "dsb": "-------- Dalej pósrědnjona powěsć --------",
    "hsb": "-------- Dale sposrědkowana powěsć --------",
    "pl": "--- Treść przekazanej wiadomości ---",
    "et": "-------- Edastatud kiri --------",
    "lt": "-------- Persiųstas laiškas --------",
    "sl": "-------- Posredovano sporočilo --------",
    "hu": "-------- Továbbított üzenet --------",
    "fi": "-------- Välitetty viesti / Fwd.Msg --------",
    "fy-NL": "-------- Trochstjoerd berjocht --------",
    "nn-NO": "-------- Vidaresend melding --------",
    "ga-IE": "-------- Teachtaireacht Ar Aghaidh --------",
    "gd": "-------- An teachdaireachd a tha ’ga shìneadh air adhart --------",
    "sq": "-------- Mesazhi i Përcjellë --------",
    "ko": "-------- 전달된 메시지 --------",
    "zh-CN": "-------- 转发的消息 --------",
    "zh-TW": "-------- 轉寄郵件 --------",
}


@pytest.mark.parametrize("line", THUNDERBIRD_FORWARD_LINES.values(), ids=THUNDERBIRD_FORWARD_LINES.keys())
@pytest.mark.parametrize("quoted", [False, True], ids=["as-sent", "quoted"])
def test_thunderbirds_forward_line_in_its_languages_is_a_forward_without_a_fwd_subject(line: str, quoted: bool) -> None:
    """Thunderbird's forward line in 26 of its languages was in no list: the forward was unwrapped only
    under a "Fwd:" subject, and with any other (a rewritten one) the forwarder was its author."""
    forwarded = (
        f"{line}\nSubject: \tBudget\nDate: \tMon, 2 Mar 2026 18:01:12 +0100\n"
        "From: \tBo Berg <bo@example.com>\nTo: \tAna Lima <ana@example.org>\n\n\n\nThe budget is approved."
    )
    if quoted:  # as clients that quote what they forward send it (and a reader's client shows it)
        forwarded = "\n".join(f"> {ln}" if ln else ">" for ln in forwarded.split("\n"))
    found = unwrap_text(f"See below.\n\n\n{forwarded}\n", subject="Budget for Q2")
    assert found is not None and (found.author.address, found.subject) == ("bo@example.com", "Budget")
    assert found.date == datetime(2026, 3, 2, 18, 1, 12, tzinfo=CET)
    assert (found.note, found.text) == ("See below.", "The budget is approved.")


@pytest.mark.parametrize("line", ["Missatge reenviat", "Posredovano sporočilo:", "-- Edastatud kiri on siin"])
def test_thunderbirds_forward_words_unframed_or_in_a_sentence_are_no_marker(line: str) -> None:
    body = f"See below.\n\n{line}\nFrom: Bo Berg <bo@example.com>\nSubject: Budget\n\nThe budget is approved.\n"
    assert unwrap_text(body, subject="Budget for Q2") is None


def test_thunderbirds_russian_forward_under_a_rewritten_subject_is_unwrapped() -> None:
    """The forwarder wrote their own subject over Thunderbird's "Fwd: …": its Russian forward line was
    unknown, so the post was Anna's, the forwarded header block and all."""
    c = analysed_fixture("thunderbird-russian-forward-subject-rewritten.eml").content
    msk = timezone(timedelta(hours=3))
    assert (c.author, c.date, c.subject) == (
        Address("Иван Петров", "ivan.petrov@example.ru"),
        datetime(2026, 3, 2, 18, 1, 12, tzinfo=msk),
        "Бюджет на второй квартал",
    )
    assert c.text == "Анна, добрый вечер!\n\nБюджет на второй квартал утверждён, всего 1,2 млн рублей.\n\nИван"
    assert c.forward == Forward(
        by=Address("Анна Смирнова", "anna@example.ru"),
        date=datetime(2026, 3, 3, 9, 14, 27, tzinfo=msk),
        note="Коллеги, посмотрите, пожалуйста, до пятницы.",
    )


@pytest.mark.parametrize("html_alone", [False, True], ids=["text-and-html", "html-only"])
def test_thunderbirds_polish_forward_tresc_przekazanej_wiadomosci_is_unwrapped(html_alone: bool) -> None:
    """Thunderbird's Polish forward line, "--- Treść przekazanej wiadomości ---" (three dashes), in its
    text part and above its HTML header table, under a subject without "PD:"/"Fwd:"."""
    name = "thunderbird-polish-forward-tresc-przekazanej-wiadomosci.eml"
    c = (analysed(html_only(name)) if html_alone else analysed_fixture(name)).content
    assert (c.author, c.date, c.subject) == (
        Address("Piotr Zieliński", "piotr.zielinski@example.pl"),
        datetime(2026, 3, 2, 17, 45, 3, tzinfo=CET),
        "Budżet na drugi kwartał",
    )
    assert c.text == "Kasiu,\n\nbudżet na drugi kwartał został zatwierdzony.\n\nPiotr"
    assert c.forward is not None and c.forward.note == "Proszę o uwagi do piątku."
    assert c.forward.by.address == "katarzyna.nowak@example.pl"


def test_thunderbirds_arabic_reply_to_a_forward_stays_the_replys() -> None:
    """A reply ("Re: Fwd: …") under Thunderbird's Arabic header, "على <date> <time>، كتب <name>:", over the
    quoted forward: the header was not read, so the quoted original was posted as a forward, its author
    Layla's, and Sara's answer was its note."""
    c = analysed_fixture("thunderbird-arabic-reply-above-quoted-forward.eml").content
    assert c.forward is None
    assert (c.author, c.subject) == (Address("سارة منصور", "sara@example.org"), "Re: Fwd: الميزانية")
    assert c.text.startswith("شكراً، سأراجعها اليوم.")
    assert "تمت الموافقة" not in c.text and "> -------- رسالة ممرّرة --------" in c.quoted_text
