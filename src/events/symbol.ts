/** The quote currency of a ccxt unified symbol: "PUMP/USDT" → "USDT", "BTC/USDT:USDT" → "USDT". */
export function quoteOf(symbol: string): string {
  const quote = symbol.split('/')[1] ?? '';
  return quote.split(':')[0] ?? quote;
}
