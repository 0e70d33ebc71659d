"""What the survey and unsubscribe pages say, in Italian and English."""

from __future__ import annotations

LANGUAGES = ("en", "it")

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "title": "Your opinion",
        "csat": "How satisfied are you with your order?",
        "csat_low": "not at all",
        "csat_high": "very satisfied",
        "nps": "How likely are you to recommend {brand} to a friend or colleague?",
        "nps_low": "not at all likely",
        "nps_high": "extremely likely",
        "why": "What is the main reason for your score? (optional)",
        "submit": "Send",
        "change": "Change my answer",
        "answered": "Thank you, your answer is saved. You can change it below until the "
        "link expires.",
        "thanks": "Thank you for your answer!",
        "review": "Glad you like it! Would you tell others in a public review?",
        "review_link": "Write a review",
        "choose": "Please choose a score.",
        "invalid_title": "This link does not work",
        "invalid": "This link is not valid: it may have been copied incompletely. Please "
        "use the link in the e-mail exactly as it is.",
        "expired_title": "This link has expired",
        "expired": "This survey link has expired, so answers can no longer be sent. "
        "Thank you anyway!",
        "unavailable_title": "Surveys are not available",
        "unavailable": "Surveys cannot be opened right now. Please try again later.",
        "unsubscribe_title": "Unsubscribe",
        "unsubscribe_question": "Stop receiving these check-in e-mails at {email}?",
        "unsubscribe_button": "Unsubscribe",
        "unsubscribed": "Done: {email} will receive no more check-in e-mails.",
        "privacy": "Your answer is read by our team and used only to improve our service.",
    },
    "it": {
        "title": "La tua opinione",
        "csat": "Quanto sei soddisfatto del tuo ordine?",
        "csat_low": "per niente",
        "csat_high": "molto soddisfatto",
        "nps": "Quanto è probabile che consigli {brand} a un amico o a un collega?",
        "nps_low": "per niente probabile",
        "nps_high": "estremamente probabile",
        "why": "Qual è il motivo principale del tuo voto? (facoltativo)",
        "submit": "Invia",
        "change": "Modifica la risposta",
        "answered": "Grazie, la tua risposta è salvata. Puoi modificarla qui sotto finché il "
        "link è valido.",
        "thanks": "Grazie per la tua risposta!",
        "review": "Siamo felici che ti piaccia! Lo racconteresti ad altri con una recensione?",
        "review_link": "Scrivi una recensione",
        "choose": "Scegli un voto, per favore.",
        "invalid_title": "Questo link non funziona",
        "invalid": "Questo link non è valido: forse è stato copiato in parte. Usa il link "
        "dell'e-mail così com'è.",
        "expired_title": "Questo link è scaduto",
        "expired": "Il link del sondaggio è scaduto e non è più possibile rispondere. "
        "Grazie comunque!",
        "unavailable_title": "Sondaggi non disponibili",
        "unavailable": "Al momento non è possibile aprire i sondaggi. Riprova più tardi.",
        "unsubscribe_title": "Annulla l'iscrizione",
        "unsubscribe_question": "Non ricevere più queste e-mail all'indirizzo {email}?",
        "unsubscribe_button": "Annulla l'iscrizione",
        "unsubscribed": "Fatto: {email} non riceverà più queste e-mail.",
        "privacy": "La tua risposta è letta dal nostro team e serve solo a migliorare il servizio.",
    },
}


def pick_language(preferred: str | None, accept_language: str | None) -> str:
    """`preferred` when there are phrases in it, else the first of Accept-Language, else en."""
    if preferred in PHRASES:
        return preferred
    for part in (accept_language or "").split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in PHRASES:
            return code
    return "en"
