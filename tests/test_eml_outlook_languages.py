"""Outlook replies in the user's language, one fixture each, through the real analysis step.

Outlook (desktop and web) writes the original's header as a field block whose
names and date follow the user's language ("Van:/Verzonden:", "Od:/Wysłano:",
"发件人:/发送时间:"), under a line of 32 underscores in the text part; the HTML
part has Word's border-top div or Outlook web's divRplyFwdMsg. Each test pins
the new text, the sign-off split off as the signature, the history starting at
the separator line (as for the English block, test_reply.py), and the HTML cut
before the block with the sign-off folded apart.
"""

from __future__ import annotations

from gateway.html_text import html_to_text
from tests.helpers import analysed_fixture, html_of

SEPARATOR = "_" * 32


def test_dutch_outlook_web_reply_is_cut_at_the_van_verzonden_block_and_splits_off_met_vriendelijke_groet() -> None:
    c = analysed_fixture("outlook-dutch-van-verzonden.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Goed idee, ik zet het overleg op donderdag om tien uur in de agenda."
    assert c.signature == "Met vriendelijke groet,\nSanne de Vries"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\nVan: Bo Berg <bo@example.com>\nVerzonden: maandag 2 maart 2026 18:01\nAan: team"
    )
    assert c.quoted_text.endswith("Kunnen we deze week nog overleggen over de planning voor april?\n\nBo")
    assert html_to_text(html) == "Goed idee, ik zet het overleg op donderdag om tien uur in de agenda."
    assert "Kunnen we" not in html and "Verzonden" not in html and "<hr" not in html


def test_italian_outlook_web_reply_is_cut_at_the_da_inviato_block_and_splits_off_cordiali_saluti() -> None:
    c = analysed_fixture("outlook-italian-da-inviato.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Sì, i campioni arrivano in magazzino mercoledì mattina."
    assert c.signature == "Cordiali saluti,\nGiulia Romano"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\nDa: Bo Berg <bo@example.com>\nInviato: lunedì 2 marzo 2026 18:01\nA: team"
    )
    assert c.quoted_text.endswith("Sai già quando arrivano i campioni in magazzino?\n\nBo")
    assert html_to_text(html) == "Sì, i campioni arrivano in magazzino mercoledì mattina."
    assert "Sai già" not in html and "Inviato" not in html and "<hr" not in html


def test_spanish_outlook_reply_is_cut_at_the_de_enviado_el_block_and_splits_off_un_saludo() -> None:
    c = analysed_fixture("outlook-spanish-de-enviado.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Perfecto, te envío el presupuesto revisado antes del viernes."
    assert c.signature == "Un saludo,\nLucía Fernández"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\nDe: Bo Berg <bo@example.com>\nEnviado el: lunes, 2 de marzo de 2026 18:01\nPara: equipo"
    )
    assert c.quoted_text.endswith("¿Puedes revisar el presupuesto de marketing esta semana?\n\nBo")
    assert html_to_text(html) == "Perfecto, te envío el presupuesto revisado antes del viernes."
    assert "Puedes revisar" not in html and "Enviado el" not in html


def test_portuguese_outlook_reply_is_cut_at_the_de_enviada_em_block_and_splits_off_atenciosamente() -> None:
    c = analysed_fixture("outlook-portuguese-de-enviada.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Pode ser, a sala 3 está livre na quinta às 14h."
    assert c.signature == "Atenciosamente,\nRafael Souza"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\nDe: Bo Berg <bo@example.com>\nEnviada em: segunda-feira, 2 de março de 2026 18:01\nPara:"
    )
    assert c.quoted_text.endswith("Podemos marcar a reunião com o fornecedor na quinta à tarde?\n\nBo")
    assert html_to_text(html) == "Pode ser, a sala 3 está livre na quinta às 14h."
    assert "Podemos marcar" not in html and "Enviada em" not in html


def test_polish_latin2_outlook_reply_is_cut_at_the_od_wyslano_block_with_dw_and_splits_off_pozdrawiam() -> None:
    c = analysed_fixture("outlook-polish-od-wyslano.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.author.name == "Tomasz Wiśniewski"
    assert c.text == "Zamówienie wysłałem dziś rano, kurier będzie w środę."
    assert c.signature == "Pozdrawiam,\nTomasz Wiśniewski"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\nOd: Bo Berg <bo@example.com>\nWysłano: poniedziałek, 2 marca 2026 18:01\nDo: zespół"
    )
    assert c.quoted_text.endswith("Czy zamówienie na marzec zostało już wysłane?\n\nBo")
    assert html_to_text(html) == "Zamówienie wysłałem dziś rano, kurier będzie w środę."
    assert "zostało już wysłane" not in html and "Wysłano" not in html


def test_swedish_outlook_reply_is_cut_at_the_fran_skickat_block_with_kopia_and_splits_off_med_vanlig_halsning() -> None:
    c = analysed_fixture("outlook-swedish-fran-skickat.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Jag lämnar nycklarna i receptionen i morgon bitti."
    assert c.signature == "Med vänlig hälsning\nErik Lindqvist"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\nFrån: Bo Berg <bo@example.com>\nSkickat: den 2 mars 2026 18:01\nTill: team"
    )
    assert c.quoted_text.endswith("Vem har nycklarna till förrådet just nu?\n\nBo")
    assert html_to_text(html) == "Jag lämnar nycklarna i receptionen i morgon bitti."
    assert "Vem har" not in html and "Skickat" not in html


def test_danish_outlook_reply_is_cut_at_the_fra_sendt_block_and_splits_off_med_venlig_hilsen() -> None:
    c = analysed_fixture("outlook-danish-fra-sendt.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Lokalet er booket til fredag fra klokken 13 til 16."
    assert c.signature == "Med venlig hilsen\nMette Nielsen"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\nFra: Bo Berg <bo@example.com>\nSendt: 2. marts 2026 18:01\nTil: team"
    )
    assert c.quoted_text.endswith("Kan du booke mødelokalet til fredag eftermiddag?\n\nBo")
    assert html_to_text(html) == "Lokalet er booket til fredag fra klokken 13 til 16."
    assert "Kan du booke" not in html and "Sendt:" not in html


def test_norwegian_outlook_web_reply_is_cut_at_the_fra_sendt_block_and_splits_off_med_vennlig_hilsen() -> None:
    c = analysed_fixture("outlook-norwegian-fra-sendt.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.text == "Jeg kommer på dugnaden og tar med tilhengeren."
    assert c.signature == "Med vennlig hilsen\nIngrid Solberg"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\nFra: Bo Berg <bo@example.com>\nSendt: mandag 2. mars 2026 18:01\nTil: team"
    )
    assert c.quoted_text.endswith("Hvem kan stille på dugnaden lørdag formiddag?\n\nBo")
    assert html_to_text(html) == "Jeg kommer på dugnaden og tar med tilhengeren."
    assert "Hvem kan" not in html and "Sendt:" not in html and "<hr" not in html


def test_finnish_vs_reply_is_no_forward_and_is_cut_at_the_lahettaja_block_and_splits_off_ystavallisin_terveisin() -> (
    None
):
    """Finnish Outlook prefixes replies "VS:" (vastaus), where Danish and Norwegian prefix forwards."""
    c = analysed_fixture("outlook-finnish-lahettaja.eml").content
    html = html_of(c)
    assert c.forward is None
    assert (c.subject, c.author.name) == ("VS: Palaveri torstaina", "Mikko Virtanen")
    assert c.text == "Palaveri sopii minulle, tulen paikalle kymmeneltä."
    assert c.signature == "Ystävällisin terveisin\nMikko Virtanen"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\nLähettäjä: Bo Berg <bo@example.com>\nLähetetty: maanantai 2. maaliskuuta 2026 18.01\n"
        "Vastaanottaja: tiimi"
    )
    assert c.quoted_text.endswith("Sopiiko palaveri torstaina kello kymmenen?\n\nBo")
    assert html_to_text(html) == "Palaveri sopii minulle, tulen paikalle kymmeneltä."
    assert "Sopiiko" not in html and "Lähetetty" not in html


def test_czech_latin2_outlook_reply_is_cut_at_the_od_odeslano_block_and_splits_off_s_pozdravem() -> None:
    c = analysed_fixture("outlook-czech-od-odeslano.eml").content
    html = html_of(c)
    assert c.forward is None
    assert c.author.name == "Petr Dvořák"
    assert c.text == "Materiál je objednaný, dodávka přijde v pátek."
    assert c.signature == "S pozdravem\nPetr Dvořák"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\nOd: Bo Berg <bo@example.com>\nOdesláno: pondělí 2. března 2026 18:01\nKomu: tým"
    )
    assert c.quoted_text.endswith("Je už objednaný materiál na stavbu?\n\nBo")
    assert html_to_text(html) == "Materiál je objednaný, dodávka přijde v pátek."
    assert "na stavbu" not in html and "Odesláno" not in html


def test_russian_koi8r_outlook_reply_is_cut_at_the_ot_otpravleno_block_and_splits_off_s_uvazheniem() -> None:
    c = analysed_fixture("outlook-russian-ot-otpravleno.eml").content
    html = html_of(c)
    assert c.forward is None
    assert (c.subject, c.author.name) == ("RE: Договор поставки", "Игорь Смирнов")
    assert c.text == "Договор подписан, оригинал отправлю курьером завтра."
    assert c.signature == "С уважением,\nИгорь Смирнов"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\nОт: Bo Berg <bo@example.com>\nОтправлено: 2 марта 2026 г. 18:01\nКому: команда"
    )
    assert c.quoted_text.endswith("Подписан ли уже договор поставки?\n\nBo")
    assert html_to_text(html) == "Договор подписан, оригинал отправлю курьером завтра."
    assert "Подписан ли" not in html and "Отправлено" not in html


def test_turkish_outlook_web_reply_is_cut_at_the_kimden_gonderildi_block_and_splits_off_saygilarimla() -> None:
    c = analysed_fixture("outlook-turkish-kimden.eml").content
    html = html_of(c)
    assert c.forward is None
    assert (c.subject, c.author.name) == ("YNT: Sunum dosyası", "Ayşe Yılmaz")
    assert c.text == "Sunumu güncelledim ve ortak klasöre yükledim."
    assert c.signature == "Saygılarımla,\nAyşe Yılmaz"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\nKimden: Bo Berg <bo@example.com>\nGönderildi: 2 Mart 2026 Pazartesi 18:01\nKime: ekip"
    )
    assert c.quoted_text.endswith("Sunum dosyasını perşembeye kadar güncelleyebilir misin?\n\nBo")
    assert html_to_text(html) == "Sunumu güncelledim ve ortak klasöre yükledim."
    assert "perşembeye" not in html and "Gönderildi" not in html and "<hr" not in html


def test_chinese_gb2312_outlook_reply_is_cut_at_the_fajianren_block_and_splits_off_xiexie() -> None:
    c = analysed_fixture("outlook-chinese-fajianren.eml").content
    html = html_of(c)
    assert c.forward is None
    assert (c.subject, c.author.name) == ("答复: 项目进度报告", "李明")
    assert c.text == "好的，我周三下午把进度报告发给大家。"
    assert c.signature == "谢谢！\n李明"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\n发件人: Bo Berg <bo@example.com>\n发送时间: 2026年3月2日 18:01\n收件人: 团队"
    )
    assert c.quoted_text.endswith("请在本周三之前提交项目进度报告。\n\nBo")
    assert html_to_text(html) == "好的，我周三下午把进度报告发给大家。"
    assert "请在本周三" not in html and "发送时间" not in html


def test_korean_ks_c_5601_outlook_reply_is_cut_at_the_boneun_saram_block_and_splits_off_gamsahamnida() -> None:
    """Outlook labels EUC-KR text "ks_c_5601-1987"."""
    c = analysed_fixture("outlook-korean-boneun-saram.eml").content
    html = html_of(c)
    assert c.forward is None
    assert (c.subject, c.author.name) == ("회신: 회의실 예약", "김민준")
    assert c.text == "회의실 예약을 마쳤습니다. 금요일 오후 2시, 3층 대회의실입니다."
    assert c.signature == "감사합니다.\n김민준 드림"
    assert c.quoted_text.startswith(
        f"{SEPARATOR}\n보낸 사람: Bo Berg <bo@example.com>\n보낸 날짜: 2026년 3월 2일 월요일 오후 6:01\n받는 사람: 팀"
    )
    assert c.quoted_text.endswith("금요일 오후에 회의실 예약 부탁드립니다.\n\nBo")
    assert html_to_text(html) == "회의실 예약을 마쳤습니다. 금요일 오후 2시, 3층 대회의실입니다."
    assert "부탁드립니다" not in html and "보낸 날짜" not in html
